"""Pagination for every list endpoint: page numbers with a client-chosen, capped page size."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100

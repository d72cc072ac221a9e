"""REST endpoints for plans, the signed-in account's subscription, invoices and webhooks.

Money is integer minor units plus an ISO currency. Money-moving POSTs honour Idempotency-Key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from billing import money, selectors, services, webhooks
from billing.entitlements import get_entitlements
from billing.gateways import get_gateway
from billing.idempotency import run_idempotent
from billing.models import Invoice, Subscription
from streamsite.api.auth import request_user
from streamsite.api.exceptions import exception_handler
from streamsite.api.pagination import PageNumberPagination
from streamsite.api.serializers import InputSerializer
from streamsite.errors import DomainError, NotFound

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Same key and body: the same response, one charge. Different body: 422.",
)


def _body(request: Request) -> Any:
    data = request.data
    return data.dict() if hasattr(data, "dict") else data


def _money_moving(request: Request, handler: Callable[[bool], tuple[int, Any]]) -> Response:
    """Run handler under the request's Idempotency-Key (if any); errors are stored too.

    handler(resuming): resuming is True when an earlier run of the same keyed request crashed
    before answering; the services then finish that run's work instead of starting anew."""

    def guarded(resuming: bool) -> tuple[int, Any]:
        try:
            return handler(resuming)
        except (DomainError, exceptions.APIException) as exc:
            response = exception_handler(exc, {})
            assert response is not None
            return response.status_code, response.data

    key = request.headers.get("Idempotency-Key")
    if not key:
        code, body = guarded(False)
        return Response(body, status=code)
    code, body, replayed = run_idempotent(
        account=request_user(request),
        key=key,
        method=request.method or "POST",
        path=request.path,
        body=_body(request),
        handler=guarded,
    )
    return Response(body, status=code, headers={"Idempotent-Replayed": str(replayed).lower()})


class PriceOut(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.IntegerField(help_text="Minor units per interval.")
    display = serializers.SerializerMethodField()

    def get_display(self, obj: Any) -> str:
        return money.format_money(obj.amount, obj.currency)


class PlanOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    interval = serializers.CharField()
    max_streams = serializers.IntegerField()
    max_resolution = serializers.IntegerField()
    max_profiles = serializers.IntegerField()
    prices = PriceOut(many=True)


class PlansApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=PlanOut(many=True), summary="Plans on sale, with prices")
    def get(self, request: Request) -> Response:
        return Response(PlanOut(selectors.plans_available(), many=True).data)


class EntitlementsOut(serializers.Serializer):
    can_stream = serializers.BooleanField()
    max_streams = serializers.IntegerField()
    max_resolution = serializers.IntegerField()
    max_profiles = serializers.IntegerField()
    plan_code = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    reason = serializers.CharField()


class EntitlementsApi(APIView):
    @extend_schema(responses=EntitlementsOut, summary="What your account may watch")
    def get(self, request: Request) -> Response:
        return Response(EntitlementsOut(get_entitlements(request_user(request))).data)


class SubscriptionOut(serializers.Serializer):
    plan = serializers.CharField(source="plan.code")
    pending_plan = serializers.CharField(source="pending_plan.code", allow_null=True)
    status = serializers.CharField()
    currency = serializers.CharField()
    current_period_start = serializers.DateTimeField()
    current_period_end = serializers.DateTimeField()
    trial_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    past_due_since = serializers.DateTimeField(allow_null=True)
    next_amount = serializers.SerializerMethodField()
    card = serializers.SerializerMethodField()

    def get_next_amount(self, obj: Subscription) -> int | None:
        return selectors.upcoming_amount(obj)

    def get_card(self, obj: Subscription) -> dict[str, str] | None:
        pm = obj.payment_method
        return {"brand": pm.brand, "last4": pm.last4} if pm else None


def _subscription_data(account: User) -> dict[str, Any]:
    sub = selectors.subscription_for(account)
    if sub is None:
        raise NotFound(gettext("You have no subscription."))
    return dict(SubscriptionOut(sub).data)


class SubscriptionApi(APIView):
    class SubscriptionStartIn(InputSerializer):
        plan = serializers.SlugField()
        currency = serializers.ChoiceField(choices=["USD", "EUR", "JPY"], default="USD")
        card_token = serializers.CharField(max_length=128, required=False, default="")
        coupon = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)
        trial = serializers.BooleanField(default=True)

    @extend_schema(responses=SubscriptionOut, summary="Your subscription")
    def get(self, request: Request) -> Response:
        return Response(_subscription_data(request_user(request)))

    @extend_schema(
        request=SubscriptionStartIn,
        responses={201: SubscriptionOut},
        parameters=[IDEMPOTENCY_HEADER],
        summary="Subscribe (checkout): trial, or the first period charged now",
    )
    def post(self, request: Request) -> Response:
        account = request_user(request)

        def handler(resuming: bool) -> tuple[int, Any]:
            data = self.SubscriptionStartIn(data=request.data)
            data.is_valid(raise_exception=True)
            v = data.validated_data
            services.subscription_start(
                account=account,
                plan_code=v["plan"],
                currency=v["currency"],
                card_token=v["card_token"],
                coupon_code=v["coupon"],
                trial=v["trial"],
                resuming=resuming,
            )
            return status.HTTP_201_CREATED, _subscription_data(account)

        return _money_moving(request, handler)


class PreviewApi(APIView):
    class PlanChangePreviewOut(serializers.Serializer):
        kind = serializers.ChoiceField(choices=["upgrade", "downgrade", "switch"])
        amount_due = serializers.IntegerField()
        currency = serializers.CharField()
        effective_at = serializers.DateTimeField()
        lines = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        parameters=[OpenApiParameter("plan", str, required=True)],
        responses=PlanChangePreviewOut,
        summary="What a plan change would cost now",
    )
    def get(self, request: Request) -> Response:
        plan = request.query_params.get("plan", "")
        if not plan:
            raise exceptions.ValidationError({"plan": ["Required."]})
        preview = services.change_preview(account=request_user(request), plan_code=plan)
        return Response(self.PlanChangePreviewOut(preview).data)


class ChangePlanApi(APIView):
    class PlanChangeIn(InputSerializer):
        plan = serializers.SlugField()

    @extend_schema(
        request=PlanChangeIn,
        responses=SubscriptionOut,
        parameters=[IDEMPOTENCY_HEADER],
        summary="Change plan: upgrade now (prorated charge) or downgrade at the period end",
    )
    def post(self, request: Request) -> Response:
        account = request_user(request)

        def handler(resuming: bool) -> tuple[int, Any]:
            data = self.PlanChangeIn(data=request.data)
            data.is_valid(raise_exception=True)
            services.subscription_change_plan(
                account=account, plan_code=data.validated_data["plan"], resuming=resuming
            )
            return status.HTTP_200_OK, _subscription_data(account)

        return _money_moving(request, handler)


class CancelApi(APIView):
    @extend_schema(request=None, responses=SubscriptionOut, summary="Cancel at the period end")
    def post(self, request: Request) -> Response:
        account = request_user(request)
        services.subscription_cancel(account=account, actor=f"account:{account.pk}")
        return Response(_subscription_data(account))


class ResumeApi(APIView):
    @extend_schema(request=None, responses=SubscriptionOut, summary="Undo a pending cancellation")
    def post(self, request: Request) -> Response:
        account = request_user(request)
        services.subscription_resume(account=account)
        return Response(_subscription_data(account))


class PaymentMethodApi(APIView):
    class PaymentMethodIn(InputSerializer):
        card_token = serializers.CharField(max_length=128)

    class PaymentMethodOut(serializers.Serializer):
        brand = serializers.CharField()
        last4 = serializers.CharField()
        exp_month = serializers.IntegerField()
        exp_year = serializers.IntegerField()

    @extend_schema(
        request=PaymentMethodIn,
        responses={201: PaymentMethodOut},
        summary="Use a new card (a gateway token)",
    )
    def post(self, request: Request) -> Response:
        data = self.PaymentMethodIn(data=request.data)
        data.is_valid(raise_exception=True)
        method = services.payment_method_add(
            account=request_user(request), token=data.validated_data["card_token"]
        )
        return Response(self.PaymentMethodOut(method).data, status=status.HTTP_201_CREATED)


@method_decorator(sensitive_post_parameters("number", "cvc"), name="dispatch")
class SandboxTokenApi(APIView):
    """The sandbox gateway's tokenizer: the only place a card number is ever accepted."""

    class SandboxCardIn(InputSerializer):
        number = serializers.CharField(max_length=23)
        exp_month = serializers.IntegerField(min_value=1, max_value=12)
        exp_year = serializers.IntegerField(min_value=2000, max_value=2100)
        cvc = serializers.CharField(max_length=4)

    class SandboxTokenOut(serializers.Serializer):
        token = serializers.CharField()
        brand = serializers.CharField()
        last4 = serializers.CharField()

    @extend_schema(
        request=SandboxCardIn,
        responses={201: SandboxTokenOut},
        summary="Sandbox: turn a test card into a token",
    )
    def post(self, request: Request) -> Response:
        if settings.BILLING_GATEWAY != "sandbox":
            raise NotFound(gettext("The sandbox gateway is not enabled."))
        data = self.SandboxCardIn(data=request.data)
        data.is_valid(raise_exception=True)
        details = get_gateway("sandbox").tokenize_card(**data.validated_data)
        return Response(self.SandboxTokenOut(details).data, status=status.HTTP_201_CREATED)


class InvoiceOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    total = serializers.IntegerField()
    amount_due = serializers.IntegerField()
    amount_credited = serializers.IntegerField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(
        allow_null=True, help_text="When dunning will next try to charge this open invoice."
    )
    html_url = serializers.SerializerMethodField()

    def get_html_url(self, obj: Invoice) -> str:
        return reverse("billing:invoice", args=[obj.pk])


class InvoiceLineOut(serializers.Serializer):
    kind = serializers.CharField()
    description = serializers.CharField()
    amount = serializers.IntegerField()


class InvoiceDetailOut(InvoiceOut):
    subtotal = serializers.IntegerField()
    discount_total = serializers.IntegerField()
    tax_total = serializers.IntegerField()
    credit_applied = serializers.IntegerField()
    lines = InvoiceLineOut(many=True)


class InvoiceListApi(APIView):
    pagination_class = PageNumberPagination  # the schema documents its envelope

    @extend_schema(responses=InvoiceOut(many=True), summary="Your invoices, newest first")
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.invoices_for(request_user(request)), request, self
        )
        return paginator.get_paginated_response(InvoiceOut(page, many=True).data)


class InvoiceDetailApi(APIView):
    @extend_schema(responses=InvoiceDetailOut, summary="One of your invoices, with its lines")
    def get(self, request: Request, invoice_id: int) -> Response:
        invoice = selectors.invoice_detail(request_user(request), invoice_id)
        if invoice is None:
            raise NotFound(gettext("No such invoice."))
        return Response(InvoiceDetailOut(invoice).data)


class InvoicePayApi(APIView):
    class InvoicePayIn(InputSerializer):
        """No fields (the invoice is in the path): any field sent is refused, as on every body,
        rather than silently changing the Idempotency-Key fingerprint."""

    @extend_schema(
        request=None,
        responses=InvoiceOut,
        parameters=[IDEMPOTENCY_HEADER],
        summary="Pay an open invoice now with the card on file",
    )
    def post(self, request: Request, invoice_id: int) -> Response:
        account = request_user(request)

        def handler(resuming: bool) -> tuple[int, Any]:
            self.InvoicePayIn(data=request.data).is_valid(raise_exception=True)
            invoice = services.invoice_pay(
                account=account, invoice_id=invoice_id, resuming=resuming
            )
            return status.HTTP_200_OK, dict(InvoiceOut(invoice).data)

        return _money_moving(request, handler)


class WebhookApi(APIView):
    """Gateway webhooks: no session, no CSRF, no throttle; the signature is the authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: None},
        summary="Gateway webhook receiver",
    )
    def post(self, request: Request, gateway: str) -> Response:
        # Gateways send JSON; a form body is parsed by the input boundary, leaving no raw body
        # to check the signature against. (No body at all fails the signature check: 400.)
        if request.content_type and request.content_type != "application/json":
            raise exceptions.UnsupportedMediaType(request.content_type)
        signature = request.headers.get("Stripe-Signature") or request.headers.get(
            "Sandbox-Signature", ""
        )
        row, created = webhooks.webhook_receive(
            gateway_name=gateway, payload=request.body, signature=signature
        )
        return Response({"received": True, "duplicate": not created, "event": row.event_id})

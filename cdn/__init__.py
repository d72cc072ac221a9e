"""CDN: edge caches, request steering, signed URLs and cache warming."""

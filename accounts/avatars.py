"""Built-in avatars (generated SVG) and server-side resizing of uploaded avatars."""

from __future__ import annotations

import io
import secrets

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from PIL import Image, UnidentifiedImageError

from streamsite.errors import ValidationFailed

# name -> (background, face colour); the face shape varies with the position in this list.
BUILTIN: dict[str, tuple[str, str]] = {
    "ember": ("#e5383b", "#fff4e6"),
    "ocean": ("#1971c2", "#e7f5ff"),
    "forest": ("#2b8a3e", "#ebfbee"),
    "sun": ("#f59f00", "#2b1d00"),
    "grape": ("#7048e8", "#f3f0ff"),
    "rose": ("#d6336c", "#fff0f6"),
    "slate": ("#495057", "#f8f9fa"),
    "teal": ("#0c8599", "#e3fafc"),
}
DEFAULT = "ember"
SIZE = 256
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000


def builtin_svg(name: str) -> str:
    """A square SVG face in the avatar's colours; ValidationFailed for an unknown name."""
    if name not in BUILTIN:
        raise ValidationFailed(f"Unknown avatar {name!r}.")
    background, face = BUILTIN[name]
    variant = list(BUILTIN).index(name) % 4
    eyes = {
        0: '<circle cx="88" cy="108" r="14"/><circle cx="168" cy="108" r="14"/>',
        1: '<rect x="70" y="98" width="36" height="14" rx="7"/>'
        '<rect x="150" y="98" width="36" height="14" rx="7"/>',
        2: '<circle cx="88" cy="108" r="20"/><circle cx="168" cy="108" r="20"/>',
        3: '<path d="M70 112 q18 -22 36 0M150 112 q18 -22 36 0" fill="none" '
        f'stroke="{face}" stroke-width="9" stroke-linecap="round"/>',
    }[variant]
    mouth = (
        f'<path d="M84 164 q44 40 88 0" fill="none" stroke="{face}" stroke-width="12" '
        'stroke-linecap="round"/>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" '
        f'width="{SIZE}" height="{SIZE}" role="img" aria-label="{name} avatar">'
        f'<rect width="{SIZE}" height="{SIZE}" rx="28" fill="{background}"/>'
        f'<g fill="{face}">{eyes}</g>{mouth}</svg>'
    )


def resize_upload(upload: UploadedFile) -> ContentFile:
    """Validate an uploaded image and return it centre-cropped and resized to 256x256 PNG."""
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            gettext("The image is larger than 5 MB."),
            extra={"fields": {"image": [gettext("Too large.")]}},
        )
    image: Image.Image
    try:
        image = Image.open(upload)
        if image.width * image.height > MAX_PIXELS:
            raise ValidationFailed(
                gettext("The image has too many pixels."),
                extra={"fields": {"image": [gettext("Too large.")]}},
            )
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValidationFailed(
            gettext("That file is not an image we can read (use PNG, JPEG, GIF or WebP)."),
            extra={"fields": {"image": [gettext("Not an image.")]}},
        ) from exc
    image = image.convert("RGBA")
    side = min(image.width, image.height)
    left = (image.width - side) // 2
    top = (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize(
        (SIZE, SIZE), Image.Resampling.LANCZOS
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return ContentFile(out.getvalue(), name=f"{secrets.token_hex(8)}.png")

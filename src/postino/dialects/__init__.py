"""The provider APIs Postino speaks. Each subpackage exposes ``router`` and ``install(app)``.

Dialects translate, core decides: a dialect parses its provider's request, calls core,
and renders core's answer or error in its provider's shapes. A new dialect is a new
subpackage here and one line in ``postino.wiring.DIALECTS``.
"""

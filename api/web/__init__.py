"""The bureau dashboard (HTML pages, forms and their login), served beside the ``/v1`` API."""

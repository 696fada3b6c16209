"""The care-team dashboard: static pages and a little JavaScript over the care-team API.

Nothing is built at run time: the pages, scripts and the vendored chart library
are plain files served by the API's own application under ``/app/``.
"""

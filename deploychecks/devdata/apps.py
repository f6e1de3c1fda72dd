from django.apps import AppConfig


class DevdataConfig(AppConfig):
    """Data for demos, benches and tests (load_demo, seed_history); no models.

    It sits above every product app and none imports it.
    """

    name = "deploychecks.devdata"
    label = "devdata"
    verbose_name = "Demo and test data"

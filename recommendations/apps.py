from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"

    def ready(self) -> None:
        from playback.signals import activity_imported
        from recommendations.receivers import fold_imported_activity

        activity_imported.connect(fold_imported_activity, dispatch_uid="recs-fold-imported")

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "deploychecks.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        from deploychecks.accounts.groups import ensure_groups
        from deploychecks.accounts.sessions import stamp_login

        user_logged_in.connect(stamp_login, dispatch_uid="accounts.stamp_login")
        # After every migrate (and test flush), once the permissions exist.
        post_migrate.connect(ensure_groups, sender=self, dispatch_uid="accounts.ensure_groups")

"""Who may subscribe to what, and which events a subscription may carry.

- Admins subscribe to one service or to all services, and see and manage every
  subscription.
- A lead (anyone who leads, or led, a deployment of a service) subscribes to
  that service only, and sees and manages only their own subscriptions.
- Everyone else has no Webhooks area (403), and another person's subscription
  does not exist for them (404).

A subscription never tells its receiver more than its owner may read: when an
event is written, a subscription whose owner is not an admin gets it only if
the owner may see that deployment then (its lead, on its team, or a manager).
So a lead's subscription to "checkout-api" carries the deployments of
checkout-api they lead or work on, and stops when they are taken off them or
deactivated.
"""

from django.http import Http404

from deploychecks.accounts.people import is_admin
from deploychecks.core.errors import Forbidden
from deploychecks.runs import access
from deploychecks.runs.models import Deployment
from deploychecks.webhooks.models import Subscription

WHO = "Webhooks are set up by admins, and by deployment leads for the services they lead."


def led_services(user) -> list[str]:
    """The services of the deployments `user` leads or led, sorted."""
    return sorted(
        set(Deployment.objects.filter(lead=user).values_list("service", flat=True).distinct())
    )


def may_subscribe(user) -> bool:
    return user.is_authenticated and (is_admin(user) or bool(led_services(user)))


def require_subscriber(user) -> None:
    """The Webhooks area: admins and leads; a styled 403 for the rest."""
    if not may_subscribe(user):
        raise Forbidden(WHO)


def service_choices(user) -> list[str] | None:
    """The services `user` may subscribe to; None means any (admins, "" = all)."""
    if is_admin(user):
        return None
    return led_services(user)


def visible_subscriptions(user):
    subscriptions = Subscription.objects.select_related("owner")
    if is_admin(user):
        return subscriptions
    return subscriptions.filter(owner=user)


def subscription_for(user, subscription_id: int, *, for_update: bool = False) -> Subscription:
    """The subscription if `user` may manage it, else 404 (nothing is learned)."""
    subscriptions = visible_subscriptions(user)
    if for_update:
        subscriptions = subscriptions.select_for_update(of=("self",))
    subscription = subscriptions.filter(pk=subscription_id).first()
    if subscription is None:
        raise Http404("No such subscription")
    return subscription


def may_receive(subscription: Subscription, deployment: Deployment) -> bool:
    """May this subscription carry this deployment's events (see the module's rule)?"""
    owner = subscription.owner
    if not owner.is_active:
        return False
    if subscription.service and subscription.service != deployment.service:
        return False
    return is_admin(owner) or access.role_of(owner, deployment) is not None

from celery import shared_task


@shared_task(name="gonogo.judge_open_deployments", ignore_result=True)
def judge_open_deployments() -> int:
    """A sustained-red rule can fire with no new reading: re-judge running deployments."""
    from deploychecks.gonogo.services import judge_open_deployments as judge

    return judge()

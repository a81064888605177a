"""The job state machine against moto's DynamoDB: forward-only, conditional, deletion-proof."""

from __future__ import annotations

import pytest

from functions.core import keys


@pytest.fixture
def store(stack):
    from functions.core.jobs import JobStore
    from functions.core.settings import Settings

    return JobStore(Settings.from_env())


@pytest.fixture
def job_id(store):
    job_id = keys.new_job_id()
    store.create(job_id=job_id, email="state@example.com", delete_token="token")
    return job_id


def test_job_moves_forward_through_states(store, job_id):
    from functions.core.jobs import JobStatus

    for status in (JobStatus.VALIDATING, JobStatus.QUEUED, JobStatus.DONE, JobStatus.NOTIFIED):
        store.transition(job_id, status)

    job = store.get(job_id)
    assert job.status is JobStatus.NOTIFIED
    assert job.outcome is JobStatus.DONE
    assert list(job.history) == ["PENDING_UPLOAD", "VALIDATING", "QUEUED", "DONE", "NOTIFIED"]


def test_job_cannot_move_backwards(store, job_id):
    from functions.core.jobs import JobStatus, TransitionRejected

    store.transition(job_id, JobStatus.VALIDATING)
    store.transition(job_id, JobStatus.REJECTED, reason="no_face")

    with pytest.raises(TransitionRejected) as rejected:
        store.transition(job_id, JobStatus.QUEUED)
    assert rejected.value.current is JobStatus.REJECTED
    assert store.get(job_id).status is JobStatus.REJECTED


def test_second_terminal_state_is_rejected(store, job_id):
    from functions.core.jobs import JobStatus, TransitionRejected

    store.transition(job_id, JobStatus.VALIDATING)
    store.transition(job_id, JobStatus.QUEUED)
    store.transition(job_id, JobStatus.DONE)

    with pytest.raises(TransitionRejected):
        store.transition(job_id, JobStatus.FAILED)


def test_deleted_job_is_not_resurrected(store, job_id):
    from functions.core.jobs import JobNotFound, JobStatus

    store.delete(job_id)

    with pytest.raises(JobNotFound):
        store.transition(job_id, JobStatus.VALIDATING)
    with pytest.raises(JobNotFound):
        store.get(job_id)


def test_notification_lease_is_exclusive(store, job_id):
    from functions.core.jobs import JobStatus

    store.transition(job_id, JobStatus.REJECTED, reason="no_face")

    assert store.claim_notification(job_id, lease_seconds=60) is True
    assert store.claim_notification(job_id, lease_seconds=60) is False


def test_notification_lease_expires(store, job_id):
    import time

    from functions.core.jobs import JobStatus

    store.transition(job_id, JobStatus.REJECTED, reason="no_face")
    store.claim_notification(job_id, lease_seconds=60, now=time.time() - 120)

    assert store.claim_notification(job_id, lease_seconds=60) is True


def test_notification_lease_needs_terminal_state(store, job_id):
    assert store.claim_notification(job_id, lease_seconds=60) is False


def test_email_hash_ignores_case():
    from functions.core.jobs import email_hash

    assert email_hash("Mixed.Case@Example.COM") == email_hash("mixed.case@example.com")
    assert email_hash("a@example.com") != email_hash("b@example.com")

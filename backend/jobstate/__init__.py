"""Scheduled jobs across worker processes: one lease row per job, and a short history of runs."""

from backend.jobstate.models import JobLease, JobRun
from backend.jobstate.service import JobState, job_states, lease_ttl_s

__all__ = ["JobLease", "JobRun", "JobState", "job_states", "lease_ttl_s"]

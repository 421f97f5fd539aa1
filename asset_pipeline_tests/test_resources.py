"""Batch size and preload limit: run config, then environment, then adaptive defaults."""

import pytest

from asset_pipeline.resources import BatchingResource, PreloadResource, RemovalPolicy


def test_batch_size_is_adaptive_by_expected_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCOVERY_BATCH_SIZE", raising=False)
    batching = BatchingResource()
    assert [batching.resolve(n) for n in (None, 500, 50_000, 100_000, 5_000_000)] == [
        500, 500, 2_000, 10_000, 10_000
    ]


def test_batch_size_env_override_and_run_config_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCOVERY_BATCH_SIZE", "777")
    assert BatchingResource().resolve(5_000_000) == 777
    assert BatchingResource(batch_size=50).resolve(5_000_000) == 50
    monkeypatch.setenv("DISCOVERY_BATCH_SIZE", "lots")
    with pytest.raises(ValueError, match="DISCOVERY_BATCH_SIZE must be a positive integer"):
        BatchingResource().resolve(10)


def test_preload_limit_default_env_and_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCOVERY_PRELOAD_LIMIT", raising=False)
    assert PreloadResource().resolve() == 150_000
    monkeypatch.setenv("DISCOVERY_PRELOAD_LIMIT", "10")
    assert PreloadResource().resolve() == 10
    assert PreloadResource(preload_limit=0).resolve() == 0


def test_removal_policy_share_allowance_and_override() -> None:
    policy = RemovalPolicy()
    assert policy.refusal(10, 20) is None  # within the always-allowed count
    assert policy.refusal(50, 1_000) is None  # exactly 5%
    message = policy.refusal(51, 1_000)
    assert message is not None and "51 of 1,000" in message and "5.1%" in message
    assert RemovalPolicy(allow_mass_removal=True).refusal(900, 1_000) is None
    assert RemovalPolicy(max_removal_share=0.5, always_allowed=0).refusal(501, 1_000)

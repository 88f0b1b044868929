from tests.architecture import violations


def test_scoring_is_pure_and_schema_comes_from_migrations() -> None:
    assert violations() == []

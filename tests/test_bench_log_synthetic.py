"""bench/log_synthetic.py writes, in SQL alone, exactly the log the app would: the same perfect
subtree hashes, and the same root for every prefix (PostgreSQL: its sha256())."""
from bench.log_scale import Base
from bench.log_synthetic import check_small


def test_the_log_built_in_sql_is_the_one_the_app_computes(postgres_databases, tmp_path, capsys):
    url = postgres_databases.create()  # migrated
    base = Base("PostgreSQL", url, tmp_path)
    try:
        check_small(base, 37)  # odd, past a power of two: incomplete subtrees on several levels
    finally:
        for engine in set(base.engines):
            engine.dispose()
        postgres_databases.drop(url)
    assert "checked against the app on 37 leaves: 71 nodes equal" in capsys.readouterr().out

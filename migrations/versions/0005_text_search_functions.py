"""Full-text search through the GIN index under row-level security.

Under row-level security PostgreSQL will not use the GIN index for ``@@`` (the operator
is not leakproof), so a full-text search scanned every row of the tenant. Two SECURITY
DEFINER functions search instead. They run as their owner (the migration's role, which
on the embedded server bypasses row-level security) and keep the tenant wall themselves:

- they keep to the tenant they are given, and return nothing when ``memory.tenant``
  (the setting row-level security reads) names another one: exactly the rows the
  policy and the caller's tenant filter together let through;
- every argument is bound (``EXECUTE ... USING``), ``search_path`` is pinned;
- they return ids and ranks only; the caller joins them back to the table under
  row-level security, which checks the tenant a second time;
- EXECUTE is revoked from PUBLIC and granted to the application role.

Where the owner does not bypass row-level security (a managed PostgreSQL), the policy
still applies inside them: the same rows, without the GIN index.

In a scope of more than ``budget`` rows, ``prune_common_terms`` leaves out the query's
commonest terms while the others would match more than ``budget`` rows (estimated from
the column's most common lexemes in ``pg_stats`` and the table's size), so that ranking
does not read most of a large scope. The statistics are the whole table's, every
tenant's: they change which of a large scope's own rows are ranked, never whose rows
can be seen.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 05:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "memory_app"
WALL = "nullif(current_setting('memory.tenant', true), '')::uuid"

PRUNE = r"""
CREATE OR REPLACE FUNCTION prune_common_terms(
    terms tsquery, source text, scope_rows bigint, budget integer
) RETURNS tsquery
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    elems text[];
    freqs real[];
    floor_share real;
    lexemes text[];
    shares real[];
    kept text[] := '{}';
    spent double precision := 0;
    rows_est double precision;
    i integer;
BEGIN
    IF terms IS NULL OR budget IS NULL OR scope_rows IS NULL OR scope_rows <= budget THEN
        RETURN terms;  -- a scope within the budget: every term, the exact ranking
    END IF;
    SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs
      INTO elems, freqs
      FROM pg_stats s
     WHERE s.schemaname = 'public' AND s.tablename = source AND s.attname = 'tsv';
    IF elems IS NULL OR strpos(terms::text, chr(92)) > 0 THEN
        RETURN terms;  -- no statistics yet, or a lexeme this parser would misread
    END IF;
    floor_share := freqs[array_length(elems, 1) + 1];  -- the least common element's
    -- The scope was counted only up to the budget: beyond it, the table's size stands in.
    SELECT greatest(c.reltuples, scope_rows) INTO rows_est
      FROM pg_class c WHERE c.oid = to_regclass('public.' || source);
    rows_est := coalesce(rows_est, scope_rows);
    SELECT array_agg(q.lexeme ORDER BY q.share, q.lexeme),
           array_agg(q.share ORDER BY q.share, q.lexeme)
      INTO lexemes, shares
      FROM (
        SELECT l.lexeme, coalesce(freqs[array_position(elems, l.lexeme)], floor_share) AS share
          FROM (
            SELECT DISTINCT replace(m[1], '''''', '''') AS lexeme
              FROM regexp_matches(terms::text, '''((?:[^'']|'''')*)''', 'g') AS m
          ) l
      ) q;
    IF lexemes IS NULL THEN
        RETURN terms;
    END IF;
    FOR i IN 1 .. cardinality(lexemes) LOOP
        EXIT WHEN i > 1 AND spent + shares[i] * rows_est > budget;
        kept := kept || lexemes[i];
        spent := spent + shares[i] * rows_est;
    END LOOP;
    IF cardinality(kept) = cardinality(lexemes) THEN
        RETURN terms;
    END IF;
    RETURN array_to_string(ARRAY(SELECT quote_literal(x) FROM unnest(kept) AS x), ' | ')::tsquery;
END
$fn$
"""


def search_function(name: str, table: str, only: str, moment: str, tiebreak: str) -> str:
    """The SQL of a full-text search function over ``table`` (aliased ``t``): rows
    passing ``only``, the period on ``moment``, ranked by ``ts_rank_cd``, ``tiebreak``
    breaking ties."""
    return f"""
CREATE OR REPLACE FUNCTION {name}(
    tenant uuid, terms tsquery, user_id text, agent_id text, session_id text,
    since timestamptz, until timestamptz, k integer, budget integer
) RETURNS TABLE (id uuid, rank real)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    wall uuid := {WALL};
    scope_rows bigint;
BEGIN
    IF tenant IS NULL OR terms IS NULL OR (wall IS NOT NULL AND wall <> tenant) THEN
        RETURN;
    END IF;
    EXECUTE
        'SELECT count(*) FROM (SELECT 1 FROM public.{table} t
          WHERE t.tenant_id = $1
            AND ($2::text IS NULL OR t.user_id = $2)
            AND ($3::text IS NULL OR t.agent_id = $3)
            AND ($4::text IS NULL OR t.session_id = $4)
          LIMIT $5 + 1) s'
        INTO scope_rows USING tenant, user_id, agent_id, session_id, budget;
    terms := public.prune_common_terms(terms, '{table}', scope_rows, budget);
    RETURN QUERY EXECUTE
        'SELECT t.id, ts_rank_cd(t.tsv, $1) FROM public.{table} t
          WHERE t.tenant_id = $2
            AND {only}
            AND ($3::text IS NULL OR t.user_id = $3)
            AND ($4::text IS NULL OR t.agent_id = $4)
            AND ($5::text IS NULL OR t.session_id = $5)
            AND ($6::timestamptz IS NULL OR {moment} >= $6)
            AND ($7::timestamptz IS NULL OR {moment} < $7)
            AND t.tsv @@ $1
          ORDER BY 2 DESC, {tiebreak}
          LIMIT $8'
        USING terms, tenant, user_id, agent_id, session_id, since, until, k;
END
$fn$
"""


EPISODES = search_function("episode_text_hits", "episodes", "true", "t.occurred_at", "t.seq")
MEMORIES = search_function(
    "memory_text_hits",
    "memories",
    "t.status = ''active''",
    "coalesce(t.valid_from, t.created_at)",
    "t.created_at",
)

SIGNATURE = "(uuid, tsquery, text, text, text, timestamptz, timestamptz, integer, integer)"
FUNCTIONS = ("episode_text_hits", "memory_text_hits")


def upgrade() -> None:
    op.execute(PRUNE)
    op.execute(EPISODES)
    op.execute(MEMORIES)
    for name in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {name}{SIGNATURE} FROM PUBLIC")
        op.execute(
            f"""
            DO $$
            BEGIN
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
                    EXECUTE 'GRANT EXECUTE ON FUNCTION {name}{SIGNATURE} TO {ROLE}';
                END IF;
            END $$;
            """
        )


def downgrade() -> None:
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}{SIGNATURE}")
    op.execute("DROP FUNCTION IF EXISTS prune_common_terms(tsquery, text, bigint, integer)")

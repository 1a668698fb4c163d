-- PostgreSQL's own statements (see queries.sql for the format). The API runs claims and submits per statement
-- (Database.transact(per_statement=True)): each write here is one statement with data-modifying CTEs that is
-- complete and consistent on its own, and carries the checks that make it safe to send without reading first.

-- name: projects.row_for_update
-- json: labels, options, label_styles
SELECT * FROM projects WHERE id = :project FOR UPDATE

-- name: projects.row_for_share
-- json: labels, options, label_styles
-- The project row, held until the transaction ends against every change of the row (each takes it FOR UPDATE
-- first: status, settings, labels, pool, deletion), but not against other writers that only read it: imports,
-- reports, changed answers, and the foreign-key checks of every task, lease and answer inserted (KEY SHARE too).
SELECT * FROM projects WHERE id = :project FOR KEY SHARE

-- name: teams.row_for_update
-- A team, held against every change of it until the transaction ends: a deletion (two at once take turns, and the
-- second finds it gone).
SELECT id, name, owner_id, created_at FROM teams WHERE id = :team FOR UPDATE

-- name: teams.row_for_share
-- A team, held against its deletion until the transaction ends (KEY SHARE, which the foreign-key check of a member or
-- pool row inserted takes anyway, but only at the insert: a deletion committed after this read and before it made
-- that insert fail): a write that adds the team to a pool or changes its members, racing the deletion, either comes
-- first (the deletion waits, then takes those rows with the team) or finds the team gone.
SELECT id, name, owner_id, created_at FROM teams WHERE id = :team FOR KEY SHARE

-- name: auth.user_for_update
-- A user, held against every other change of the account until the transaction ends: two deactivations (or
-- reactivations, token rotations, password resets) at once take turns, and the second sees what the first did.
SELECT id, username, role, is_active, created_at, token_hash FROM users WHERE id = :user FOR UPDATE

-- name: auth.user_for_session
-- A signing-in user's password hash and standing, held until the session is stored against a password reset or a
-- deactivation (each updates the row, which FOR SHARE waits for and then sees): a reset committed during the
-- password check is seen, and one that comes after ends this session with the others.
SELECT password_hash, is_active FROM users WHERE id = :user FOR SHARE

-- name: projects.label_used
-- Whether any answer, gold answer, prediction, review or consensus of the project names the label (as `label`, in
-- `labels`, or as the label of one of its `boxes` or `spans`): a label may leave a project only when none does.
WITH answers AS (
    SELECT answer FROM annotations WHERE project_id = :project
    UNION ALL SELECT gold FROM tasks WHERE project_id = :project AND gold IS NOT NULL
    UNION ALL SELECT predictions FROM tasks WHERE project_id = :project AND predictions IS NOT NULL
    UNION ALL SELECT answer FROM reviews WHERE project_id = :project AND answer IS NOT NULL
    UNION ALL SELECT answer FROM task_results WHERE project_id = :project AND answer IS NOT NULL
)
SELECT 1 FROM answers
WHERE answer->>'label' = CAST(:label AS text)
   OR answer->'labels' @> jsonb_build_array(CAST(:label AS text))
   OR answer->'boxes' @> jsonb_build_array(jsonb_build_object('label', CAST(:label AS text)))
   OR answer->'spans' @> jsonb_build_array(jsonb_build_object('label', CAST(:label AS text)))
LIMIT 1

-- name: queue.insert_tasks
-- json_arrays: data, gold, predictions
-- A batch of new tasks in one statement, the batch's columns as arrays, ids given in the arrays' order (a statement per
-- task, as queue.insert_task, took the server twice as long). The same rows as queue.insert_task's.
INSERT INTO tasks (project_id, data, gold, predictions, is_gold, priority, external_id, source_key, state, needed,
                   n_done, n_leased, created_at)
SELECT :project, t.data, t.gold, t.predictions, t.is_gold, t.priority, t.external_id, t.source_key, 0 /*open*/, :needed,
       0, 0, :now
FROM unnest(CAST(:data AS jsonb[]), CAST(:gold AS jsonb[]), CAST(:predictions AS jsonb[]), CAST(:is_gold AS boolean[]),
            CAST(:priority AS integer[]), CAST(:external_id AS varchar[]), CAST(:source_key AS varchar[]))
     WITH ORDINALITY AS t(data, gold, predictions, is_gold, priority, external_id, source_key, n)
ORDER BY t.n

-- name: tasks.external_ids_taken
-- The first of up to 1,000 external ids (an array parameter) already in the project.
SELECT external_id FROM tasks WHERE project_id = :project AND external_id = ANY(:ids) LIMIT 1

-- name: tasks.hold_external_ids
-- Until the transaction ends, no other import into the project checks external ids (this waits for one in flight,
-- which has then committed its tasks): taken by an import that brings external ids before it checks them, so two
-- imports of one id at once take turns and the second is told the id is taken, as it would be after the first.
-- Imports without external ids, claims and submits do not wait.
SELECT 1 AS held FROM (SELECT pg_advisory_xact_lock(7302, CAST(:project % 2147483647 AS integer))) AS id_hold

-- name: queue.upsert_recomputed
-- json_params: answer, details
-- A project-wide recompute's consensus of a task, unless the task's own settle wrote a newer one after the
-- recompute read its answers (:read_at): the newer one counts answers the recompute did not see. A task deleted
-- since the read gets none (its result row would break the foreign key: a 500); the write holds the project row
-- (membership.shared), so a deletion of tasks (which locks it first) has committed before this runs, or waits.
INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, updated_at)
SELECT CAST(:task AS bigint), CAST(:project AS bigint), CAST(:answer AS jsonb), CAST(:confidence AS double precision),
       CAST(:n AS integer), CAST(:method AS varchar), CAST(:details AS jsonb), CAST(:now AS double precision)
FROM tasks WHERE id = :task
ON CONFLICT (task_id) DO UPDATE SET answer = excluded.answer, confidence = excluded.confidence,
    n_annotations = excluded.n_annotations, method = excluded.method, details = excluded.details,
    updated_at = excluded.updated_at
WHERE task_results.updated_at <= :read_at

-- name: queue.hold_reclaims
-- A change that locks a project's tasks and then their leases (a new redundancy, a review of a task, a block) first
-- takes the lock reclaim_expired tries: a claim's sweep locks expired leases and then their tasks, the other order,
-- and the two deadlocked (a second's stall, one of them retried). While it is held the sweep skips its step.
SELECT pg_advisory_xact_lock(7461, CAST(:project % 2147483647 AS integer))

-- name: queue.reclaim_expired
-- One reclaimer at a time per project (the others skip the step); rows it cannot lock are skipped.
WITH expired AS (
    SELECT id FROM assignments
    WHERE project_id = :project AND status = 0 /*leased*/ AND expires_at <= :now
      AND pg_try_advisory_xact_lock(7461, CAST(:project % 2147483647 AS integer))
    ORDER BY task_id FOR NO KEY UPDATE SKIP LOCKED
), marked AS (
    UPDATE assignments a SET status = 3 /*expired*/, finished_at = :now FROM expired
    WHERE a.id = expired.id AND a.status = 0 /*leased*/ RETURNING a.task_id
), per_task AS (SELECT task_id, count(*) AS n FROM marked GROUP BY task_id)
UPDATE tasks t SET n_leased = t.n_leased - per_task.n FROM per_task WHERE t.id = per_task.task_id
RETURNING t.id AS task_id

-- name: queue.new_worker_row
-- A worker's standing row in a project, made at their first claim (or a block before it); no row when the project
-- is gone. It is made only with the project row held (KEY SHARE, as its foreign-key check would take it): a claim
-- that read the project before a deletion committed waits for the deletion and then finds no project, where the
-- foreign-key check failed (a 500).
INSERT INTO project_workers (project_id, worker_id, n_claims, n_annotations, n_skips, n_gold,
                             gold_score_sum, blocked, updated_at)
SELECT p.id, :worker, 0, 0, 0, 0, 0, false, :now FROM projects p WHERE p.id = :project FOR KEY SHARE
ON CONFLICT (project_id, worker_id) DO UPDATE SET updated_at = excluded.updated_at
RETURNING n_claims, n_gold, gold_score_sum, blocked, skill

-- name: queue.worker_active
-- Whether the worker's account is active, held until the transaction ends (a claim of one named task, a renewal;
-- KEY SHARE, which a deactivation's FOR UPDATE waits for): a deactivation waits for the claim and then releases
-- its lease, or commits first and is seen.
SELECT is_active FROM users WHERE id = :worker FOR KEY SHARE

-- name: queue.lease_regular
-- json: data, predictions, gold
-- Lease the worker's next regular task in one statement, which is its own transaction. `ok` first checks
-- everything the claim's read established: the project is at the version the claim's rules came from, the
-- worker is not blocked, holds no live lease in this project and fewer live leases than the cap, and (when the
-- claim did not read: `remembered`) nothing in the project waits to be reclaimed, its own leases included.
-- `project` holds the project row at that version (KEY SHARE, as the lease's foreign-key check would): an
-- archive, a pool change or a settings change (each locks the row FOR UPDATE first) either waits for this claim
-- and then sees its lease (an archive releases it), or commits first and this claim finds a new version.
-- `worker` holds the worker's account while it is active (KEY SHARE, as the lease's foreign-key check would, so
-- at no extra cost; a deactivation locks the account FOR UPDATE first): a deactivation either waits for this claim
-- and then releases its lease, or commits first and this claim finds the account inactive.
-- `ok` locks the worker's row in the project, so claims of one worker take turns; the claim counter must
-- still hold the value this claim knew (a concurrent claim of the same worker changed it: this one leases
-- nothing, and reads again). Then it locks the candidate (FOR NO KEY UPDATE, not FOR UPDATE, which would also
-- block the foreign-key checks of every annotation and assignment inserted for it; other claims skip it),
-- counts the worker's claim, counts the lease on the task and inserts the assignment.
WITH project AS (
    SELECT 1 FROM projects p WHERE p.id = :project AND p.updated_at = :version FOR KEY SHARE),
worker AS (
    SELECT 1 FROM users u WHERE u.id = :worker AND u.is_active FOR KEY SHARE),
ok AS (
    SELECT 1 FROM project_workers pw
    WHERE pw.project_id = :project AND pw.worker_id = :worker AND pw.n_claims = :seen_claims
      AND NOT pw.blocked
      AND EXISTS (SELECT 1 FROM project)
      AND EXISTS (SELECT 1 FROM worker)
      AND NOT EXISTS (SELECT 1 FROM assignments h
                      WHERE h.worker_id = :worker AND h.project_id = :project AND h.status = 0 /*leased*/
                        AND (h.expires_at > :now OR CAST(:remembered AS boolean)))
      AND (NOT CAST(:remembered AS boolean) OR NOT EXISTS (
           SELECT 1 FROM assignments e
           WHERE e.project_id = :project AND e.status = 0 /*leased*/ AND e.expires_at <= :now))
      AND (SELECT count(*) FROM assignments l
           WHERE l.worker_id = :worker AND l.status = 0 /*leased*/ AND l.expires_at > :now) < :max_leases
    FOR NO KEY UPDATE OF pw),
candidate AS (
    SELECT t.id FROM tasks t
    WHERE t.project_id = :project AND t.is_gold = false AND t.state = 0 /*open*/
      AND t.n_done + t.n_leased < t.needed
      AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = :worker)
      AND EXISTS (SELECT 1 FROM ok)
    ORDER BY t.n_done DESC, t.priority DESC, t.id LIMIT 1 FOR NO KEY UPDATE OF t SKIP LOCKED),
counted AS (
    UPDATE project_workers pw SET n_claims = pw.n_claims + 1 FROM candidate
    WHERE pw.project_id = :project AND pw.worker_id = :worker AND pw.n_claims = :seen_claims AND NOT pw.blocked
    RETURNING pw.worker_id),
claimed AS (
    UPDATE tasks t SET n_leased = t.n_leased + 1 FROM candidate, counted WHERE t.id = candidate.id
    RETURNING t.id, t.data, t.predictions, t.gold),
lease AS (
    INSERT INTO assignments (project_id, task_id, worker_id, status, is_gold, created_at, expires_at)
    SELECT CAST(:project AS bigint), claimed.id, CAST(:worker AS bigint), 0 /*leased*/, false,
           CAST(:now AS double precision), CAST(:expires AS double precision)
    FROM claimed RETURNING id)
SELECT (SELECT count(*) FROM ok) AS ok, c.found, lease.id AS assignment_id, claimed.id, claimed.data,
       claimed.predictions, claimed.gold
FROM (SELECT count(*) AS found FROM candidate) c LEFT JOIN claimed ON true LEFT JOIN lease ON true

-- name: queue.lease_gold
-- json: data, predictions, gold
-- queue.lease_regular for a gold check: no redundancy cap (every worker may see each one once, in a per-worker
-- order), so a locked candidate is waited for rather than skipped. The ids are reduced before they are multiplied:
-- a restored dump's ids may be near 2**63, and the product of such an id was 'bigint out of range'.
WITH project AS (
    SELECT 1 FROM projects p WHERE p.id = :project AND p.updated_at = :version FOR KEY SHARE),
worker AS (
    SELECT 1 FROM users u WHERE u.id = :worker AND u.is_active FOR KEY SHARE),
ok AS (
    SELECT 1 FROM project_workers pw
    WHERE pw.project_id = :project AND pw.worker_id = :worker AND pw.n_claims = :seen_claims
      AND NOT pw.blocked
      AND EXISTS (SELECT 1 FROM project)
      AND EXISTS (SELECT 1 FROM worker)
      AND NOT EXISTS (SELECT 1 FROM assignments h
                      WHERE h.worker_id = :worker AND h.project_id = :project AND h.status = 0 /*leased*/
                        AND (h.expires_at > :now OR CAST(:remembered AS boolean)))
      AND (NOT CAST(:remembered AS boolean) OR NOT EXISTS (
           SELECT 1 FROM assignments e
           WHERE e.project_id = :project AND e.status = 0 /*leased*/ AND e.expires_at <= :now))
      AND (SELECT count(*) FROM assignments l
           WHERE l.worker_id = :worker AND l.status = 0 /*leased*/ AND l.expires_at > :now) < :max_leases
    FOR NO KEY UPDATE OF pw),
candidate AS (
    SELECT t.id FROM tasks t
    WHERE t.project_id = :project AND t.is_gold = true AND t.state = 0 /*open*/
      AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = :worker)
      -- Gold mixed into the work (gold_fraction, not the first gold_first_n) comes only while the worker has
      -- regular work left: none once theirs is done, so "no more tasks" stays so.
      AND (NOT CAST(:mixed AS boolean) OR EXISTS (
           SELECT 1 FROM tasks r
           WHERE r.project_id = :project AND r.is_gold = false AND r.state = 0 /*open*/
             AND r.n_done + r.n_leased < r.needed
             AND NOT EXISTS (SELECT 1 FROM assignments g WHERE g.task_id = r.id AND g.worker_id = :worker)))
      AND EXISTS (SELECT 1 FROM ok)
    ORDER BY ((t.id % 1000003) * 7919 + (:worker % 1000003) * 104729) % 1000003 LIMIT 1 FOR NO KEY UPDATE OF t),
counted AS (
    UPDATE project_workers pw SET n_claims = pw.n_claims + 1 FROM candidate
    WHERE pw.project_id = :project AND pw.worker_id = :worker AND pw.n_claims = :seen_claims AND NOT pw.blocked
    RETURNING pw.worker_id),
claimed AS (
    UPDATE tasks t SET n_leased = t.n_leased + 1 FROM candidate, counted WHERE t.id = candidate.id
    RETURNING t.id, t.data, t.predictions, t.gold),
lease AS (
    INSERT INTO assignments (project_id, task_id, worker_id, status, is_gold, created_at, expires_at)
    SELECT CAST(:project AS bigint), claimed.id, CAST(:worker AS bigint), 0 /*leased*/, true,
           CAST(:now AS double precision), CAST(:expires AS double precision)
    FROM claimed RETURNING id)
SELECT (SELECT count(*) FROM ok) AS ok, c.found, lease.id AS assignment_id, claimed.id, claimed.data,
       claimed.predictions, claimed.gold
FROM (SELECT count(*) AS found FROM candidate) c LEFT JOIN claimed ON true LEFT JOIN lease ON true

-- name: queue.lock_task
-- Held until the transaction ends: a settle of the task waits for a changed answer (and then sees it).
SELECT id FROM tasks WHERE id = :task FOR NO KEY UPDATE

-- name: queue.locked_assignment
-- json: data, gold
-- queue.assignment, locked for change until the transaction ends.
SELECT a.id, a.project_id, a.task_id, a.worker_id, a.status, a.is_gold, a.expires_at, pw.blocked,
       p.updated_at AS version, t.id AS task_found, t.data, t.gold
FROM assignments a JOIN projects p ON p.id = a.project_id
LEFT JOIN project_workers pw ON pw.project_id = a.project_id AND pw.worker_id = a.worker_id
LEFT JOIN tasks t ON t.id = a.task_id
WHERE a.id = :assignment FOR NO KEY UPDATE OF a

-- name: queue.record_annotation
-- json_params: answer, meta
-- A submit in one statement: close the lease (only if it is still this worker's live lease on that task, and
-- the project is at the version the answer was checked against), insert the annotation (left out of consensus
-- if the worker is blocked), and count it for the worker, the project and the task. The project row is held
-- (KEY SHARE, which the annotation's foreign-key check takes anyway) at that version: a change of the project
-- (its status, its labels: each locks the row FOR UPDATE first) either waits for this answer and then sees it
-- (a label's removal finds it used), or commits first and this statement, having waited, finds a new version
-- and stores nothing (the submit reads again). The task row, the one other workers' statements wait for, is
-- locked last.
WITH project AS (
    SELECT 1 FROM projects p WHERE p.id = :project AND p.updated_at = :version FOR KEY SHARE),
closed AS (
    UPDATE assignments SET status = 1 /*submitted*/, finished_at = :now
    WHERE id = :assignment AND worker_id = :worker AND task_id = :task AND project_id = :project
      AND status = 0 /*leased*/ AND expires_at > :now AND EXISTS (SELECT 1 FROM project)
    RETURNING id),
ann AS (
    INSERT INTO annotations (project_id, task_id, worker_id, assignment_id, answer, is_gold, gold_score,
                             excluded, idempotency_key, duration_ms, meta, created_at)
    SELECT CAST(:project AS bigint), CAST(:task AS bigint), CAST(:worker AS bigint), closed.id,
           CAST(:answer AS jsonb), CAST(:is_gold AS boolean), CAST(:gold_score AS double precision),
           COALESCE((SELECT pw.blocked FROM project_workers pw
                     WHERE pw.project_id = :project AND pw.worker_id = :worker), false),
           CAST(:key AS varchar), CAST(:duration AS integer), CAST(:meta AS jsonb), CAST(:now AS double precision)
    FROM closed RETURNING id, excluded),
standing AS (
    UPDATE project_workers SET n_annotations = n_annotations + 1, n_gold = n_gold + :gold,
           gold_score_sum = gold_score_sum + :score, updated_at = :now
    WHERE project_id = :project AND worker_id = :worker AND EXISTS (SELECT 1 FROM ann)
    RETURNING n_gold, gold_score_sum, blocked),
progress AS (
    INSERT INTO project_counters (project_id, shard, n_tasks, n_gold_tasks, n_complete, n_annotations, n_skips)
    SELECT CAST(:project AS bigint), CAST(:shard AS integer), 0, 0, 0, 1, 0 FROM ann
    ON CONFLICT (project_id, shard) DO UPDATE SET n_annotations = project_counters.n_annotations + 1),
task AS (
    UPDATE tasks SET n_leased = n_leased - 1,
           n_done = n_done + (SELECT CASE WHEN ann.excluded THEN 0 ELSE 1 END FROM ann)
    WHERE id = :task AND EXISTS (SELECT 1 FROM ann) RETURNING n_done, needed, state)
SELECT ann.id AS annotation_id, NOT ann.excluded AS counted, task.n_done, task.needed, task.state,
       standing.n_gold, standing.gold_score_sum, standing.blocked
FROM ann, task, standing

-- name: queue.complete_task
-- json_params: answer, details
-- A settled task in one statement (it may run on its own, per statement): the task's completion, guarded by
-- what the settle read and aggregated (still open, still wanting `needed`, with all of those answers in and
-- exactly the `answers` counted that went into the result; a settle that raced a blocked worker's answers
-- leaving, or another settle, changes nothing), the project's counter, and the result, written only if the
-- task changed. The project row is held first (KEY SHARE, as queue.record_annotation holds it), before the task
-- row: a change of the project locks the project and then its tasks (a deletion of tasks, a new redundancy), so a
-- settle that locked the task and then waited for the project (the result's foreign-key check) was a deadlock,
-- its task left for the sweep.
WITH project AS (SELECT 1 FROM projects WHERE id = :project FOR KEY SHARE),
changed AS (
    UPDATE tasks SET state = 1 /*complete*/
    WHERE id = :task AND state = 0 /*open*/ AND needed = :needed AND n_done >= needed AND n_done = :answers
      AND EXISTS (SELECT 1 FROM project)
    RETURNING id),
result AS (
    INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, updated_at)
    SELECT CAST(:task AS bigint), CAST(:project AS bigint), CAST(:answer AS jsonb),
           CAST(:confidence AS double precision), CAST(:n AS integer), CAST(:method AS varchar),
           CAST(:details AS jsonb), CAST(:now AS double precision) FROM changed
    ON CONFLICT (task_id) DO UPDATE SET answer = excluded.answer, confidence = excluded.confidence,
        n_annotations = excluded.n_annotations, method = excluded.method, details = excluded.details,
        updated_at = excluded.updated_at),
progress AS (
    INSERT INTO project_counters (project_id, shard, n_tasks, n_gold_tasks, n_complete, n_annotations, n_skips)
    SELECT CAST(:project AS bigint), CAST(:shard AS integer), 0, 0, 1, 0, 0 FROM changed
    ON CONFLICT (project_id, shard) DO UPDATE SET n_complete = project_counters.n_complete + 1)
SELECT count(*) AS n FROM changed

-- name: queue.one_more_answer
-- json_params: answer, details
-- Adaptive redundancy: not confident enough yet, one more answer wanted (guarded as queue.complete_task), and
-- the result so far, written only if the task changed.
WITH project AS (SELECT 1 FROM projects WHERE id = :project FOR KEY SHARE),
changed AS (
    UPDATE tasks SET needed = needed + 1
    WHERE id = :task AND state = 0 /*open*/ AND needed = :needed AND n_done >= needed AND n_done = :answers
      AND EXISTS (SELECT 1 FROM project)
    RETURNING id),
result AS (
    INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, updated_at)
    SELECT CAST(:task AS bigint), CAST(:project AS bigint), CAST(:answer AS jsonb),
           CAST(:confidence AS double precision), CAST(:n AS integer), CAST(:method AS varchar),
           CAST(:details AS jsonb), CAST(:now AS double precision) FROM changed
    ON CONFLICT (task_id) DO UPDATE SET answer = excluded.answer, confidence = excluded.confidence,
        n_annotations = excluded.n_annotations, method = excluded.method, details = excluded.details,
        updated_at = excluded.updated_at)
SELECT count(*) AS n FROM changed

-- name: export.data_keys
-- Every data field of a project's tasks (a CSV export's header).
SELECT DISTINCT jsonb_object_keys(data) AS key FROM tasks WHERE project_id = :project

-- name: queue.tick_changes
-- PostgreSQL numbers changes by transaction id (migration 0013's triggers): nothing to take.
SELECT 1

-- name: export.restored
-- The first change number (transaction id) after the database was last restored (labeling restore): a cursor
-- below it was given before the restore (change_clock's row 2; none: never restored).
SELECT n FROM change_clock WHERE id = 2

-- name: restore.mark_changes
-- After a restore, nothing to move on: transaction ids only grow (restore.mark_changes_start keeps where they are).
SELECT 1

-- name: restore.mark_changes_start
-- Every transaction before this one has an id below its snapshot's xmax: every cursor given before the restore too.
INSERT INTO change_clock (id, n) VALUES (2, CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text) AS bigint))
ON CONFLICT (id) DO UPDATE SET n = excluded.n

-- name: export.cursor
-- The export's snapshot (its first statement: REPEATABLE READ keeps it), as the next pull's cursor: which change
-- numbers (tasks.change_id, the transaction ids of migration 0013's triggers) it has seen, and which it has not.
SELECT CAST(pg_current_snapshot() AS text) AS snapshot

-- name: restore.sync_sequences
-- After rows were inserted with their ids, the id sequences continue after the largest, never before where they
-- were (setval ignores NULL: an empty table keeps its sequence). Set to the largest id alone, a sequence went back
-- below ids it had handed out: to rows deleted since (their ids were given again: NEVER_REUSED_IDS), and to rows
-- of transactions in flight beside the restore (the next ones broke the primary key).
SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT max(id) FROM users),
              pg_sequence_last_value(CAST(pg_get_serial_sequence('users', 'id') AS regclass)))),
       setval(pg_get_serial_sequence('projects', 'id'), GREATEST((SELECT max(id) FROM projects),
              pg_sequence_last_value(CAST(pg_get_serial_sequence('projects', 'id') AS regclass)))),
       setval(pg_get_serial_sequence('tasks', 'id'), GREATEST((SELECT max(id) FROM tasks),
              pg_sequence_last_value(CAST(pg_get_serial_sequence('tasks', 'id') AS regclass)))),
       setval(pg_get_serial_sequence('assignments', 'id'), GREATEST((SELECT max(id) FROM assignments),
              pg_sequence_last_value(CAST(pg_get_serial_sequence('assignments', 'id') AS regclass)))),
       setval(pg_get_serial_sequence('annotations', 'id'), GREATEST((SELECT max(id) FROM annotations),
              pg_sequence_last_value(CAST(pg_get_serial_sequence('annotations', 'id') AS regclass)))),
       setval(pg_get_serial_sequence('reviews', 'id'), GREATEST((SELECT max(id) FROM reviews),
              pg_sequence_last_value(CAST(pg_get_serial_sequence('reviews', 'id') AS regclass)))),
       setval(pg_get_serial_sequence('teams', 'id'), GREATEST((SELECT max(id) FROM teams),
              pg_sequence_last_value(CAST(pg_get_serial_sequence('teams', 'id') AS regclass)))),
       setval(pg_get_serial_sequence('task_reports', 'id'), GREATEST((SELECT max(id) FROM task_reports),
              pg_sequence_last_value(CAST(pg_get_serial_sequence('task_reports', 'id') AS regclass)))),
       setval(pg_get_serial_sequence('audit_log', 'id'), GREATEST((SELECT max(id) FROM audit_log),
              pg_sequence_last_value(CAST(pg_get_serial_sequence('audit_log', 'id') AS regclass))))

-- name: restore.analyze
-- A restored database gets its planner statistics at once: without them PostgreSQL estimates one row per table
-- and plans an export's keyset page as a sort of every remaining row (autovacuum would analyze a minute later).
ANALYZE users, projects, project_counters, tasks, assignments, annotations, project_workers, task_results, teams,
        team_members, project_pool_workers, project_pool_teams, project_media, media, task_reports, audit_log,
        reviews

-- name: membership.users_by_ids
-- Up to 1,000 users by id (an array parameter).
SELECT id, username, role FROM users WHERE id = ANY(:ids)

-- name: membership.users_by_names
SELECT id, username, role FROM users WHERE username = ANY(:names)

-- name: restore.task_data
-- json: data
-- The data of restored tasks by id (an array), to check the answers to them against their task type.
SELECT id, project_id, data FROM tasks WHERE id = ANY(:ids)

-- name: queue.tasks_in
-- Up to 1,000 of a project's tasks by id (an array), with what deleting them takes from the counters.
SELECT id, is_gold, state FROM tasks WHERE project_id = :project AND id = ANY(:ids)

-- name: queue.answer_tallies_of_tasks
-- Per worker, the answers, gold answers, gold score, skips and claims that these tasks counted.
SELECT w.worker_id,
       (SELECT count(*) FROM annotations a WHERE a.worker_id = w.worker_id AND a.task_id = ANY(:ids))
           AS n_annotations,
       (SELECT count(*) FROM annotations a WHERE a.worker_id = w.worker_id AND a.gold_score IS NOT NULL
            AND a.task_id = ANY(:ids)) AS n_gold,
       (SELECT coalesce(sum(a.gold_score), 0) FROM annotations a WHERE a.worker_id = w.worker_id
            AND a.task_id = ANY(:ids)) AS score,
       (SELECT count(*) FROM assignments s WHERE s.worker_id = w.worker_id AND s.status = 2 /*skipped*/
            AND s.task_id = ANY(:ids)) AS n_skips,
       (SELECT count(*) FROM assignments s WHERE s.worker_id = w.worker_id AND s.task_id = ANY(:ids)) AS n_claims
FROM (SELECT DISTINCT worker_id FROM assignments WHERE task_id = ANY(:ids)) w

-- name: queue.record_deletions
-- The tasks about to be deleted, for incremental pulls (`--format deletions`): a deleted task leaves no row.
INSERT INTO task_deletions (project_id, task_id, external_id, deleted_at)
SELECT project_id, id, external_id, :now FROM tasks WHERE project_id = :project AND id = ANY(:ids)

-- name: queue.delete_tasks
-- Their leases, answers and results go with them (foreign keys ON DELETE CASCADE).
DELETE FROM tasks WHERE project_id = :project AND id = ANY(:ids)

-- name: tasks.ids_by_external
SELECT id, external_id FROM tasks WHERE project_id = :project AND external_id = ANY(:ids)

-- ---- media ----------------------------------------------------------------------------------------------------

-- name: media.shown
-- Which of up to 1,000 files (their path_hash, an array parameter) some project's tasks show, and whether a project
-- of this owner is among them.
SELECT pm.path_hash, bool_or(p.owner_id = :owner) AS by_owner
FROM project_media pm JOIN projects p ON p.id = pm.project_id
WHERE pm.path_hash = ANY(:hashes) GROUP BY pm.path_hash

-- name: media.hold_uploads
-- Until the transaction ends, no unused upload is removed (media.hold_uploads_for_removal waits): taken by an
-- import that names files under uploads/ before it checks they are still there. Imports do not wait for each other.
SELECT 1 AS held FROM (SELECT pg_advisory_xact_lock_shared(7301512)) AS shared_hold

-- name: media.hold_uploads_for_removal
-- Until the transaction ends, no import that names files under uploads/ checks them (media.hold_uploads waits),
-- and this waits for those in flight: their files are seen as used once they commit.
SELECT 1 AS held FROM (SELECT pg_advisory_xact_lock(7301512)) AS sole_hold

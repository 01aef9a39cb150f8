-- store.sql - the schema of spool's store, for SQLite and PostgreSQL alike.
--
-- One portable file: BIGINT, INTEGER and TEXT columns only, no
-- autoincrement (every row is keyed by a UUIDv7 made by spool, or by a
-- natural key), partial indexes both engines have.  Times are integer
-- milliseconds since 1970-01-01 UTC.  Sections start with a line
-- "-- version N"; a store at version K gets every section above K applied,
-- each in the transaction that also records the new version in meta.
-- Never edit a released section: add a new one.

-- version 1
CREATE TABLE IF NOT EXISTS meta (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- The other nodes, with the sequence ledger of each direction.
CREATE TABLE peer (
	name TEXT PRIMARY KEY,
	key_id TEXT,                         -- minisign key id, when known
	next_seq BIGINT NOT NULL DEFAULT 1,  -- next seq to send to it
	recv_contiguous BIGINT NOT NULL DEFAULT 0, -- all seqs 1..this received
	recv_high BIGINT NOT NULL DEFAULT 0, -- highest seq known to exist
	created BIGINT NOT NULL,
	updated BIGINT NOT NULL
);

-- Batches sent (dir 'out') and received (dir 'in').  A row id is the
-- batch's signed id for batches written or received, a fresh id for a
-- duplicate or a quarantined file (whose facts may be unknown).
-- out states: planned written exported acknowledged abandoned
-- in states: received duplicate quarantined
CREATE TABLE batch (
	id TEXT PRIMARY KEY,
	batch_id TEXT,
	dir TEXT NOT NULL CHECK (dir IN ('out', 'in')),
	peer TEXT NOT NULL,
	seq BIGINT,
	items BIGINT,
	bytes BIGINT,
	tar BIGINT,
	name TEXT,
	state TEXT NOT NULL,
	reason TEXT,
	created BIGINT NOT NULL,
	updated BIGINT NOT NULL
);
CREATE UNIQUE INDEX batch_out_seq ON batch (peer, seq) WHERE dir = 'out';
CREATE UNIQUE INDEX batch_in_seq ON batch (peer, seq)
	WHERE dir = 'in' AND state = 'received';
CREATE INDEX batch_created ON batch (created);

CREATE TABLE batch_event (
	id TEXT PRIMARY KEY,
	batch TEXT NOT NULL REFERENCES batch (id) ON DELETE CASCADE,
	state TEXT NOT NULL,
	time BIGINT NOT NULL,
	detail TEXT
);
CREATE INDEX batch_event_batch ON batch_event (batch);

-- The ledger of seen batches: what makes a replay a duplicate.  Rows at
-- or below peer.recv_contiguous may be pruned: the seq alone refuses them.
CREATE TABLE seen (
	peer TEXT NOT NULL,
	seq BIGINT NOT NULL,
	batch_id TEXT NOT NULL,
	received BIGINT NOT NULL,
	PRIMARY KEY (peer, seq)
);
CREATE INDEX seen_received ON seen (received);

-- Requests, on the node that submits them (side 'submit': peer is where
-- they go) and on the node that processes them (side 'process': peer is
-- where they came from).
CREATE TABLE request (
	id TEXT PRIMARY KEY,
	side TEXT NOT NULL CHECK (side IN ('submit', 'process')),
	type TEXT NOT NULL,
	usr TEXT NOT NULL,
	folder TEXT,
	name TEXT NOT NULL,
	peer TEXT,
	priority INTEGER NOT NULL DEFAULT 0,
	deadline BIGINT,
	state TEXT NOT NULL,
	error TEXT,
	size BIGINT,
	hash TEXT,
	created BIGINT NOT NULL,
	updated BIGINT NOT NULL
);
CREATE INDEX request_state ON request (state, created);

CREATE TABLE request_event (
	id TEXT PRIMARY KEY,
	request TEXT NOT NULL REFERENCES request (id) ON DELETE CASCADE,
	state TEXT NOT NULL,
	time BIGINT NOT NULL,
	detail TEXT
);
CREATE INDEX request_event_request ON request_event (request);

-- Content-addressed blobs under store/ and who holds on to them.
CREATE TABLE blob (
	hash TEXT PRIMARY KEY,
	size BIGINT NOT NULL,
	path TEXT NOT NULL,
	created BIGINT NOT NULL
);
CREATE TABLE blob_ref (
	hash TEXT NOT NULL REFERENCES blob (hash),
	owner TEXT NOT NULL,
	role TEXT NOT NULL,
	PRIMARY KEY (hash, owner, role)
);
CREATE INDEX blob_ref_owner ON blob_ref (owner);

-- Jobs: sequential stages of parallel tasks.
-- job states: running succeeded failed cancelled expired
CREATE TABLE job (
	id TEXT PRIMARY KEY,
	type TEXT NOT NULL,
	request TEXT,
	priority INTEGER NOT NULL,
	deadline BIGINT,
	state TEXT NOT NULL,
	stage INTEGER NOT NULL,
	nstages INTEGER NOT NULL,
	max_attempts INTEGER NOT NULL,
	error TEXT,
	created BIGINT NOT NULL,
	updated BIGINT NOT NULL,
	finished BIGINT
);
CREATE INDEX job_request ON job (request);
CREATE INDEX job_finished ON job (finished) WHERE finished IS NOT NULL;
CREATE INDEX job_deadline ON job (deadline)
	WHERE state = 'running' AND deadline IS NOT NULL;

-- The counter row per (job, stage) that advances a job: the task that
-- makes done reach total is the one that advances it.
-- stage states: waiting active done
CREATE TABLE stage (
	job TEXT NOT NULL REFERENCES job (id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	name TEXT NOT NULL,
	total INTEGER NOT NULL DEFAULT 0,
	done INTEGER NOT NULL DEFAULT 0,
	state TEXT NOT NULL,
	PRIMARY KEY (job, idx)
);

-- task states: waiting queued running done failed cancelled
CREATE TABLE task (
	id TEXT PRIMARY KEY,
	job TEXT NOT NULL REFERENCES job (id) ON DELETE CASCADE,
	stage INTEGER NOT NULL,
	idx INTEGER NOT NULL,
	type TEXT NOT NULL,
	state TEXT NOT NULL,
	priority INTEGER NOT NULL,
	created BIGINT NOT NULL,
	run_at BIGINT NOT NULL,
	deadline BIGINT,
	attempt INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL,
	lease_owner TEXT,
	lease_until BIGINT,
	input TEXT,
	result TEXT,
	error TEXT,
	started BIGINT,
	finished BIGINT,
	UNIQUE (job, stage, idx)
);
-- claims walk these in order and stop at LIMIT
CREATE INDEX task_claim ON task (priority DESC, created, id)
	WHERE state = 'queued';
CREATE INDEX task_claim_type ON task (type, priority DESC, created, id)
	WHERE state = 'queued';
CREATE INDEX task_lease ON task (lease_until) WHERE state = 'running';

-- Everything that happened to a task: claimed, completed, failed,
-- retried, lost (lease expired), cancelled.
CREATE TABLE task_event (
	id TEXT PRIMARY KEY,
	task TEXT NOT NULL REFERENCES task (id) ON DELETE CASCADE,
	event TEXT NOT NULL,
	attempt INTEGER NOT NULL,
	worker TEXT,
	time BIGINT NOT NULL,
	detail TEXT
);
CREATE INDEX task_event_task ON task_event (task);

-- Lineage: entities as KIND:ID (file:HASH, request:UUID, batch:UUID,
-- job:UUID, task:UUID, output:UUID), events (what happened, where, by
-- whom, carried by which batch) and what each event used and generated.
CREATE TABLE lineage_entity (
	ref TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	name TEXT,
	hash TEXT,
	size BIGINT,
	node TEXT,
	created BIGINT NOT NULL
);
CREATE INDEX lineage_entity_hash ON lineage_entity (hash);

CREATE TABLE lineage_event (
	id TEXT PRIMARY KEY,
	event TEXT NOT NULL,
	time BIGINT NOT NULL,
	node TEXT NOT NULL,
	usr TEXT,
	batch TEXT,
	detail TEXT
);
CREATE INDEX lineage_event_batch ON lineage_event (batch);

CREATE TABLE lineage_io (
	event TEXT NOT NULL REFERENCES lineage_event (id) ON DELETE CASCADE,
	role TEXT NOT NULL CHECK (role IN ('used', 'generated')),
	ref TEXT NOT NULL,
	PRIMARY KEY (event, role, ref)
);
CREATE INDEX lineage_io_ref ON lineage_io (ref, role);

-- version 2
-- Per-type caps on running tasks ([workers] and the later GDAL workers):
-- a claim never makes more than max_running tasks of a type run at once.
CREATE TABLE task_type (
	type TEXT PRIMARY KEY,
	max_running INTEGER NOT NULL
);
CREATE INDEX task_running_type ON task (type) WHERE state = 'running';

-- version 3
-- The daemon's flows (spoold).
-- A file claimed from a hot folder into store/intake/ whose request is
-- committed: the claimed copy is removed after the commit, and this row
-- with it; a row left by a crash says the copy is done and only needs
-- removing, if the file there is still that one (same dev:inode:ctime).  path
-- is relative to store/intake/.
CREATE TABLE intake (
	path TEXT PRIMARY KEY,
	request TEXT NOT NULL,
	ino TEXT NOT NULL,     -- "dev:inode:ctime" of the claimed file
	created BIGINT NOT NULL
);

-- What waits to be sent to a peer, one manifest line each (kind request,
-- part or result), and the batch that carries it once one is planned.
-- size is the blob bytes the line brings into a batch.
CREATE TABLE outbox (
	id TEXT PRIMARY KEY,
	peer TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('request', 'part', 'result')),
	request TEXT NOT NULL,
	priority INTEGER NOT NULL,
	created BIGINT NOT NULL,
	ord INTEGER NOT NULL DEFAULT 0,
	size BIGINT NOT NULL,
	item TEXT NOT NULL,
	batch TEXT
);
CREATE INDEX outbox_pending ON outbox (peer, priority DESC, created, ord, id)
	WHERE batch IS NULL;
CREATE INDEX outbox_batch ON outbox (batch);
CREATE INDEX outbox_request ON outbox (request, kind);

-- Parts of large files received, until the whole file is assembled.
CREATE TABLE part (
	request TEXT NOT NULL,
	name TEXT NOT NULL,
	idx INTEGER NOT NULL,
	count INTEGER NOT NULL,
	offs BIGINT NOT NULL,
	size BIGINT NOT NULL,
	blob TEXT NOT NULL,
	file_size BIGINT NOT NULL,
	file_blob TEXT NOT NULL,
	created BIGINT NOT NULL,
	PRIMARY KEY (request, name, idx)
);

-- version 4
-- Processing: a request's params (JSON text) as it carried them, the
-- folder's preset merged in on the submitting node; and, for a query, the
-- key of its answer in the caches (canonical JSON of source and params
-- without "fresh"), on both nodes.
ALTER TABLE request ADD COLUMN params TEXT;
ALTER TABLE request ADD COLUMN cache_key TEXT;
CREATE INDEX request_cache_key ON request (cache_key) WHERE cache_key IS NOT NULL;
-- The processing node's query cache: the request whose answer serves
-- identical queries of a source until expires (ms), while the source is
-- as it was (fingerprint: a file source's dev:ino:size:mtime).
CREATE TABLE query_cache (
	key TEXT PRIMARY KEY,
	source TEXT NOT NULL,
	request TEXT NOT NULL,
	fingerprint TEXT,
	hits BIGINT NOT NULL DEFAULT 0,
	created BIGINT NOT NULL,
	expires BIGINT NOT NULL
);
CREATE INDEX query_cache_source ON query_cache (source);
-- The permission bits of a request's file as its owner left them (the
-- request line's "mode"): a delivered copy is never more readable.
ALTER TABLE request ADD COLUMN mode INTEGER;

-- version 5
-- When a processed request's answer went into the outbox (ms, wall
-- clock; NULL until then).  spoold looks for final requests still to be
-- answered after each group of deliveries and each worker's note: the
-- partial index holds only processed requests not answered yet, so that
-- look costs the same however many answered requests the store keeps.
ALTER TABLE request ADD COLUMN answered BIGINT;
UPDATE request SET answered = updated WHERE side = 'process' AND EXISTS
	(SELECT 1 FROM outbox o WHERE o.request = request.id AND
	o.kind = 'result');
CREATE INDEX request_unanswered ON request (updated, id)
	WHERE side = 'process' AND answered IS NULL;

#!/usr/bin/env python3
"""mkbatch.py - craft spool batches, good or hostile, for tests.

    mkbatch.py [--spec JSON | --spec @FILE] [--set PATH=VALUE]...
               [--key SECKEY] [--legacy] [--sig FILE] OUT.batch

Writes OUT.batch and, when --key is given, OUT.batch.minisig (or --sig
FILE), signed with the real `minisign` CLI.  The key is an unencrypted
minisign secret key: a spool node's keys/node.key, or `minisign -G -W`.
Standard library only; uses the `zstd` and `minisign` programs.

By default every fact is right: the manifest lists what the archive holds,
every blob is named by its BLAKE2b-256, and the trusted comment carries
the header facts with bytes= (total size of the distinct blobs) and tar=
(exact size of the decompressed stream).  The spec then breaks exactly
what a test wants broken.  The spec is one JSON object; --set changes one
field of it by a dotted path (list elements by index), the value read as
JSON when it parses, else as a string:
    --set comment.tar=100  --set header.version=2  --set files.0.name=a/b

Spec fields (all optional):
  from, to, seq, id, created, acks
        facts shared by the manifest header and the trusted comment
        (defaults: low, high, 1, a fresh UUID, now, [])
  files: [FILE...]   payloads; each becomes one request item and one
        member blobs/<hash> (identical payloads are stored once).  FILE:
          name        file name in the item (default fN.txt)
          data | hex | size+fill | path      the bytes (text, hex, a run of
                      SIZE bytes FILL (int, default 0), or a file's bytes)
          blob        hash to claim (default: the real BLAKE2b-256)
          size_field  size to claim in the manifest (default: the real one)
          member_data | member_hex   different bytes in the member
          member_name member name (default blobs/<blob>)
          member      false: the manifest names it but no member carries it
          item        dict merged into the generated item (null deletes)
  items: [ITEM...]    item objects used instead of the generated ones
  items_extra: [ITEM...]  appended after them
  header: {...}       merged into the manifest header only (null deletes)
  header_items, header_bytes   (shortcuts: set in header AND comment)
  manifest: TEXT      the whole manifest text, as is
  manifest_lines: [TEXT...]    manifest lines, each followed by "\\n"
  append_lines: [TEXT...]      raw lines appended to the manifest
  huge_line: N        a line of N bytes (then "\\n") right after the header,
                      streamed, never held in memory; it is a JSON request
                      item whose "user" is a run of 'a' (counts as an item)
  members: [MEMBER...]   the whole member list, in order, instead of
                      manifest + blobs.  MEMBER:
          name        member name (any bytes you like; >100 goes to prefix)
          type        file|symlink|hardlink|chardev|blockdev|dir|fifo or
                      a one-character typeflag (default file)
          ref         "manifest", "blob:I" (bytes of files[I]), "blobs"
                      (every default blob member, in order; no other keys)
          data | hex | size+fill | path     the member's bytes
          declared_size   size field in the header (default: real size)
          linkname, mode, uid, gid, mtime, uname, gname, devmajor,
          devminor, magic ("ustar\\x00" default), version ("00"),
          chksum (header checksum to write instead of the right one)
  prepend_members, extra_members: [MEMBER...] before/after the defaults
  drop_manifest: true   leave out the manifest member
  writer: "ustar" (default, this file's writer) | "tarfile" (Python's
        tarfile module, USTAR format, padded to 10240 bytes; regular
        members only)
  eof_blocks: N       zero blocks ending the archive (default 2)
  pad_blocks: N       extra zero blocks after them
  pad_to: N           then zero-pad the stream to a multiple of N bytes
  zero_tail: N        then N more zero bytes (streamed: 4 GiB is cheap with
                      compress=native)
  tar_adjust: N       sign tar= as the real size plus N (N < 0: the stream
                      is longer than signed; 4 GiB of zero_tail with
                      tar_adjust -4294967296 is a bomb that lies)
  compress: "zstd" (default; the zstd CLI) | "native" (a zstd frame written
        here: raw blocks, and RLE blocks for runs; any window) | "none"
  level: zstd level (default 3)
  window_log: N       native framing: the frame header asks for a 2^N byte
                      window (31 = 2 GiB); default 17
  fcs: N              native framing: a single-segment frame whose header
                      declares N bytes of content, so the window is N bytes
                      (whatever the frame then holds)
  native_checksum: false (the native frame carries no content checksum)
  garbage | garbage_hex: bytes appended after the compressed stream
  patch: [[OFFSET, HEX]...]  overwrite bytes of the compressed file before
                      signing (OFFSET < 0 counts from the end); e.g. the
                      zstd CLI's content checksum is the last 4 bytes
  truncate: N         keep the first N bytes (N < 0: drop -N at the end)
  raw | raw_hex | raw_file: the .batch bytes, as is (no archive at all)
  comment: {...}      trusted comment fields to override: v ("v1"), from,
                      to, seq, id, items, bytes, tar, created; null drops
                      the field
  comment_raw: TEXT   the whole trusted comment
  untrusted: TEXT     the untrusted comment

    mkbatch.py --jobs FILE      (FILE "-" is stdin)

builds many batches in one run (Python starts once): FILE holds one JSON
object per line, {"out": PATH, "spec": {...}, "key": SECKEY, "sig": PATH,
"legacy": false}; empty lines and lines starting with '#' are skipped.

Prints the trusted comment on stdout (with --jobs: "OUT<TAB>COMMENT" per
batch).  Exit 0, or 1 with a message.
"""

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid

CHUNK = 1 << 20
BLOCK = 512

# BLAKE2b-256 of runs of zero bytes, so a 4 GiB zero blob costs nothing to
# name (computing it takes ~7 s).  Checked: head -c 4G /dev/zero | b2sum -l 256
ZERO_HASHES = {
    4 << 30: "0dc7d91a0694659aeb99cf64cdd254687cb283b3317cec333cf29f792edff6d7",
}


def die(msg):
    sys.stderr.write("mkbatch: %s\n" % msg)
    sys.exit(1)


# ---- pieces: a byte stream as a list of bytes / runs / files -------------

class Run:
    """COUNT copies of the byte BYTE, never materialised whole."""

    def __init__(self, byte, count):
        self.byte = byte & 0xFF
        self.count = count

    def __len__(self):
        return self.count


class FileRef:
    def __init__(self, path):
        self.path = path
        self.size = os.path.getsize(path)

    def __len__(self):
        return self.size


def plen(pieces):
    return sum(len(p) for p in pieces)


def chunks(pieces):
    """Yields the stream in chunks of at most CHUNK bytes."""
    for p in pieces:
        if isinstance(p, Run):
            left = p.count
            buf = bytes([p.byte]) * min(left, CHUNK)
            while left > 0:
                n = min(left, CHUNK)
                yield buf[:n]
                left -= n
        elif isinstance(p, FileRef):
            with open(p.path, "rb") as f:
                while True:
                    b = f.read(CHUNK)
                    if not b:
                        break
                    yield b
        elif p:
            for i in range(0, len(p), CHUNK):
                yield p[i:i + CHUNK]


def phash(pieces):
    if len(pieces) == 1 and isinstance(pieces[0], Run) and pieces[0].byte == 0 \
            and pieces[0].count in ZERO_HASHES:
        return ZERO_HASHES[pieces[0].count]
    h = hashlib.blake2b(digest_size=32)
    for c in chunks(pieces):
        h.update(c)
    return h.hexdigest()


def data_pieces(d, prefix=""):
    """The bytes a spec object gives by data/hex/size+fill/path."""
    if prefix + "data" in d:
        v = d[prefix + "data"]
        return [v.encode("utf-8") if isinstance(v, str) else bytes(v)]
    if prefix + "hex" in d:
        return [bytes.fromhex(d[prefix + "hex"])]
    if prefix + "path" in d:
        return [FileRef(d[prefix + "path"])]
    if prefix + "size" in d:
        return [Run(d.get(prefix + "fill", 0), int(d[prefix + "size"]))]
    return None


# ---- ustar ---------------------------------------------------------------

TYPES = {"file": b"0", "hardlink": b"1", "symlink": b"2", "chardev": b"3",
         "blockdev": b"4", "dir": b"5", "fifo": b"6"}


def num_field(v, width):
    """Octal, NUL-terminated; base-256 (GNU) when it does not fit."""
    s = b"%o" % v
    if v >= 0 and len(s) <= width - 1:
        return s.rjust(width - 1, b"0") + b"\0"
    out = bytearray(width)
    out[0] = 0x80
    for i in range(width - 1, 0, -1):
        out[i] = v & 0xFF
        v >>= 8
    return bytes(out)


def str_field(v, width):
    b = v.encode("utf-8") if isinstance(v, str) else bytes(v)
    if len(b) > width:
        die("field too long: %r" % (b,))
    return b.ljust(width, b"\0")


def split_name(name):
    b = name.encode("utf-8")
    if len(b) <= 100:
        return b, b""
    for i in range(len(b) - 1, -1, -1):
        if b[i:i + 1] == b"/" and i <= 155 and len(b) - i - 1 <= 100 and i > 0:
            return b[i + 1:], b[:i]
    die("name cannot be stored in ustar: %r" % name)


def ustar_header(m, size):
    t = m.get("type", "file")
    flag = TYPES.get(t, t.encode() if isinstance(t, str) else t)
    if len(flag) != 1:
        die("bad member type %r" % t)
    name, prefix = split_name(m["name"])
    magic = m.get("magic", "ustar\x00")
    version = m.get("version", "00")
    dflt_mode = 0o755 if flag == b"5" else 0o644
    h = bytearray()
    h += str_field(name, 100)
    h += num_field(m.get("mode", dflt_mode), 8)
    h += num_field(m.get("uid", 0), 8)
    h += num_field(m.get("gid", 0), 8)
    h += num_field(m.get("declared_size", size), 12)
    h += num_field(m.get("mtime", 0), 12)
    h += b" " * 8
    h += flag
    h += str_field(m.get("linkname", ""), 100)
    h += str_field(magic, 6)
    h += str_field(version, 2)
    h += str_field(m.get("uname", "root"), 32)
    h += str_field(m.get("gname", "root"), 32)
    h += num_field(m.get("devmajor", 0), 8)
    h += num_field(m.get("devminor", 0), 8)
    h += str_field(prefix, 155)
    h += b"\0" * 12
    assert len(h) == BLOCK
    s = m.get("chksum", sum(h))
    h[148:156] = b"%06o\0 " % s
    return bytes(h)


def ustar_pieces(members, spec):
    out = []
    for m, data in members:
        size = plen(data)
        out.append(ustar_header(m, size))
        out.extend(data)
        if size % BLOCK:
            out.append(b"\0" * (BLOCK - size % BLOCK))
    out.append(Run(0, BLOCK * int(spec.get("eof_blocks", 2))))
    return out


def tarfile_pieces(members, tmpdir):
    """The archive as Python's tarfile writes it (USTAR, 10240 records)."""
    path = os.path.join(tmpdir, "tarfile.tar")
    with open(path, "wb") as f:
        with tarfile.open(fileobj=f, mode="w|", format=tarfile.USTAR_FORMAT) as tf:
            for m, data in members:
                if m.get("type", "file") != "file":
                    die("writer tarfile takes regular members only")
                ti = tarfile.TarInfo(m["name"])
                ti.size = plen(data)
                ti.mode = m.get("mode", 0o644)
                ti.mtime = m.get("mtime", 0)
                ti.uname = ti.gname = m.get("uname", "root")
                tf.addfile(ti, _PieceReader(data))
    return [FileRef(path)]


class _PieceReader(io.RawIOBase):
    def __init__(self, pieces):
        self.it = chunks(pieces)
        self.buf = b""

    def readable(self):
        return True

    def read(self, n=-1):
        while n < 0 or len(self.buf) < n:
            try:
                self.buf += next(self.it)
            except StopIteration:
                break
        if n < 0:
            n = len(self.buf)
        r, self.buf = self.buf[:n], self.buf[n:]
        return r


# ---- zstd ----------------------------------------------------------------

def zstd_cli(pieces, out, level):
    p = subprocess.Popen(["zstd", "-q", "-c", "-%d" % level, "-T0", "-"],
                         stdin=subprocess.PIPE, stdout=out)
    try:
        for c in chunks(pieces):
            p.stdin.write(c)
    finally:
        p.stdin.close()
    if p.wait() != 0:
        die("zstd failed")


def native_frame(pieces, out, window_log, fcs=None):
    """One zstd frame: raw blocks for bytes, RLE blocks for runs."""
    if not 10 <= window_log <= 41:
        die("window_log out of range")
    maxblk = min(128 << 10, 1 << window_log)
    out.write(struct.pack("<I", 0xFD2FB528))
    if fcs is None:
        out.write(bytes([0x00, (window_log - 10) << 3]))  # no FCS, no checksum
    else:
        # Single_Segment, 8-byte Frame_Content_Size: the window is fcs bytes
        maxblk = min(128 << 10, max(fcs, 1))
        out.write(bytes([0xE0]) + struct.pack("<Q", fcs))
    pending = [None]

    def emit(kind, size, payload):
        if pending[0] is not None:
            k, s, pl = pending[0]
            out.write(struct.pack("<I", (s << 3) | (k << 1))[:3] + pl)
        pending[0] = (kind, size, payload)

    buf = bytearray()

    def flush_raw(final):
        while len(buf) >= maxblk or (final and buf):
            n = min(maxblk, len(buf))
            emit(0, n, bytes(buf[:n]))
            del buf[:n]

    for p in pieces:
        if isinstance(p, Run) and p.count >= 64:
            flush_raw(True)
            left = p.count
            while left:
                n = min(maxblk, left)
                emit(1, n, bytes([p.byte]))
                left -= n
        else:
            for c in chunks([p]):
                buf += c
                flush_raw(False)
    flush_raw(True)
    if pending[0] is None:
        pending[0] = (0, 0, b"")
    k, s, pl = pending[0]
    out.write(struct.pack("<I", (s << 3) | (k << 1) | 1)[:3] + pl)


# ---- the batch -----------------------------------------------------------

def jline(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def merge(d, patch):
    for k, v in patch.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return d


def build(spec, out_path, tmpdir):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    facts = {
        "from": spec.get("from", "low"),
        "to": spec.get("to", "high"),
        "seq": spec.get("seq", 1),
        "id": spec.get("id", str(uuid.uuid4())),
        "created": spec.get("created", now),
    }

    # payloads, items, distinct blobs
    items, blobs, seen = [], [], {}
    file_data = []
    for i, f in enumerate(spec.get("files", [])):
        data = data_pieces(f)
        if data is None:
            data = [b""]
        size = plen(data)
        blob = f.get("blob") or phash(data)
        file_data.append(data)
        fref = {"name": f.get("name", "f%d.txt" % i),
                "size": f.get("size_field", size), "blob": blob}
        it = {"kind": "request", "id": str(uuid.uuid4()), "type": "transfer",
              "name": fref["name"], "user": "test", "priority": 0,
              "created": facts["created"], "files": [fref]}
        items.append(merge(it, f.get("item", {})))
        if blob not in seen:
            seen[blob] = size
            if f.get("member", True):
                mdata = data_pieces(f, "member_") or data
                blobs.append(({"name": f.get("member_name", "blobs/" + blob)}, mdata))
    if "items" in spec:
        items = list(spec["items"])
    items.extend(spec.get("items_extra", []))
    n_items = len(items) + (1 if spec.get("huge_line") else 0)
    facts["items"] = spec.get("header_items", n_items)
    facts["bytes"] = spec.get("header_bytes", sum(seen.values()))

    header = {"spool": "batch", "version": 1, "id": facts["id"],
              "from": facts["from"], "to": facts["to"], "seq": facts["seq"],
              "created": facts["created"], "items": facts["items"],
              "bytes": facts["bytes"], "acks": spec.get("acks", [])}
    merge(header, spec.get("header", {}))

    # manifest text
    if "manifest" in spec:
        manifest = [spec["manifest"].encode("utf-8")]
    elif "manifest_lines" in spec:
        manifest = [l.encode("utf-8") + b"\n" for l in spec["manifest_lines"]]
    else:
        manifest = [jline(header)]
        if spec.get("huge_line"):
            pre = ('{"kind":"request","id":"%s","type":"transfer","name":"huge",'
                   '"priority":0,"created":"%s","files":[],"user":"'
                   % (uuid.uuid4(), facts["created"])).encode()
            post = b'"}'
            n = int(spec["huge_line"]) - len(pre) - len(post)
            if n < 0:
                die("huge_line too small")
            manifest += [pre, Run(ord("a"), n), post + b"\n"]
        manifest += [jline(it) for it in items]
    manifest += [l.encode("utf-8") + b"\n" for l in spec.get("append_lines", [])]

    # members
    def member(m):
        m = dict(m)
        ref = m.get("ref")
        if ref == "manifest":
            data = manifest
        elif ref and ref.startswith("blob:"):
            data = file_data[int(ref[5:])]
        else:
            data = data_pieces(m) or [b""]
        if "name" not in m:
            m["name"] = "manifest.jsonl" if ref == "manifest" else "blobs/" + phash(data)
        return (m, data)

    def expand(lst):
        out = []
        for m in lst:
            if m.get("ref") == "blobs":
                out.extend(blobs)
            else:
                out.append(member(m))
        return out

    if "members" in spec:
        members = expand(spec["members"])
    else:
        members = [] if spec.get("drop_manifest") else [({"name": "manifest.jsonl"}, manifest)]
        members = expand(spec.get("prepend_members", [])) + members + blobs + \
            expand(spec.get("extra_members", []))

    # the stream
    if spec.get("writer", "ustar") == "tarfile":
        stream = tarfile_pieces(members, tmpdir)
    else:
        stream = ustar_pieces(members, spec)
    if spec.get("pad_blocks"):
        stream.append(Run(0, BLOCK * int(spec["pad_blocks"])))
    if spec.get("pad_to"):
        r = plen(stream) % int(spec["pad_to"])
        if r:
            stream.append(Run(0, int(spec["pad_to"]) - r))
    if spec.get("zero_tail"):
        stream.append(Run(0, int(spec["zero_tail"])))
    facts["tar"] = plen(stream) + int(spec.get("tar_adjust", 0))

    # the file
    with open(out_path, "wb") as out:
        if "raw" in spec:
            out.write(spec["raw"].encode("utf-8"))
        elif "raw_hex" in spec:
            out.write(bytes.fromhex(spec["raw_hex"]))
        elif "raw_file" in spec:
            for c in chunks([FileRef(spec["raw_file"])]):
                out.write(c)
        else:
            how = spec.get("compress", "zstd")
            if how == "zstd":
                zstd_cli(stream, out, int(spec.get("level", 3)))
            elif how == "native":
                native_frame(stream, out, int(spec.get("window_log", 17)),
                             spec.get("fcs"))
            elif how == "none":
                for c in chunks(stream):
                    out.write(c)
            else:
                die("compress: zstd, native or none")
        if "garbage" in spec:
            out.write(spec["garbage"].encode("utf-8"))
        if "garbage_hex" in spec:
            out.write(bytes.fromhex(spec["garbage_hex"]))
    for off, hexbytes in spec.get("patch", []):
        with open(out_path, "r+b") as f:
            f.seek(off if off >= 0 else os.path.getsize(out_path) + off)
            f.write(bytes.fromhex(hexbytes))
    if "truncate" in spec:
        n = int(spec["truncate"])
        size = os.path.getsize(out_path)
        os.truncate(out_path, max(0, n if n >= 0 else size + n))

    # the trusted comment
    if "comment_raw" in spec:
        return spec["comment_raw"]
    c = {"v": "v1", "from": facts["from"], "to": facts["to"], "seq": facts["seq"],
         "id": facts["id"], "items": facts["items"], "bytes": facts["bytes"],
         "tar": facts["tar"], "created": facts["created"]}
    merge(c, spec.get("comment", {}))
    parts = ["spool-batch"]
    if "v" in c:
        parts.append(str(c["v"]))
    for k in ("from", "to", "seq", "id", "items", "bytes", "tar", "created"):
        if k in c:
            parts.append("%s=%s" % (k, c[k]))
    return " ".join(parts)


def sign(batch, sig, key, comment, untrusted, legacy):
    cmd = ["minisign", "-S", "-s", key, "-m", batch, "-x", sig,
           "-t", comment, "-c", untrusted]
    if legacy:
        cmd.append("-l")
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        die("minisign failed: %s" % r.stderr.decode(errors="replace").strip())


def set_path(spec, path, value):
    try:
        v = json.loads(value)
    except ValueError:
        v = value
    keys = path.split(".")
    d = spec
    for i, k in enumerate(keys[:-1]):
        nxt = [] if keys[i + 1].isdigit() else {}
        if isinstance(d, list):
            d = d[int(k)]
        else:
            d = d.setdefault(k, nxt)
    if isinstance(d, list):
        d[int(keys[-1])] = v
    else:
        d[keys[-1]] = v


def main(argv):
    spec, key, sig, legacy, out, jobs = {}, None, None, False, None, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--spec", "--set", "--key", "--sig", "--jobs") and i + 1 < len(argv):
            v = argv[i + 1]
            i += 2
            if a == "--spec":
                if v.startswith("@"):
                    with open(v[1:], encoding="utf-8") as f:
                        v = f.read()
                spec.update(json.loads(v))
            elif a == "--set":
                if "=" not in v:
                    die("--set PATH=VALUE")
                set_path(spec, *v.split("=", 1))
            elif a == "--key":
                key = v
            elif a == "--jobs":
                jobs = v
            else:
                sig = v
        elif a == "--legacy":
            legacy = True
            i += 1
        elif a in ("-h", "--help"):
            sys.stdout.write(__doc__)
            return 0
        elif a.startswith("-") or out is not None:
            die("usage: mkbatch.py [--spec JSON|@FILE] [--set PATH=VALUE]... "
                "[--key SECKEY] [--legacy] [--sig FILE] OUT.batch | --jobs FILE")
        else:
            out = a
            i += 1
    if jobs is not None:
        f = sys.stdin if jobs == "-" else open(jobs, encoding="utf-8")
        for n, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                job = json.loads(line)
            except ValueError as e:
                die("%s:%d: %s" % (jobs, n, e))
            one(job.get("spec", {}), job["out"], job.get("key"), job.get("sig"),
                job.get("legacy", False), True)
        return 0
    if out is None:
        die("no output file")
    one(spec, out, key, sig, legacy, False)
    return 0


def one(spec, out, key, sig, legacy, named):
    with tempfile.TemporaryDirectory(prefix="mkbatch-") as tmpdir:
        comment = build(spec, out, tmpdir)
    if key:
        sign(out, sig or out + ".minisig", key, comment,
             spec.get("untrusted", "spool batch crafted by mkbatch.py"), legacy)
    sys.stdout.write((out + "\t" if named else "") + comment + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

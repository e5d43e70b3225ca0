/* Fleet-wide throttling: the gateways of a fleet send each other the calls
 * they counted (gw/limits.c deltas) over UDP, so a rate-limit or quota
 * holds across the fleet, approximately (docs/fleet.md).
 *
 * Two layers:
 * - the datagram (encode, decode, replay guard): pure functions, no I/O,
 *   bounded; unit-tested and fuzzed (fuzz/fuzz_fleet.c);
 * - the runtime: one thread with one UDP socket that drains the counter
 *   table every interval, sends to every peer, and merges what it
 *   receives. The request path never waits on it. */
#ifndef CG_GW_FLEET_H
#define CG_GW_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/limits.h"

/* ---- the datagram ----------------------------------------------------------
 * All integers big-endian.
 *   magic "CGF1" (4) | sender id (8) | sequence (8) | sender's Unix ms (8)
 *   | record count (2) | records (count x 56) | HMAC-SHA256 (32)
 * record: counter key digest (32) | period ms (8) | window end, Unix ms,
 *   signed (8) | calls (8)
 * The HMAC covers every byte before it, under the fleet key. A datagram
 * with no record is a heartbeat. */
#define CG_FLEET_MAGIC "CGF1"
#define CG_FLEET_HEAD_LEN 30
#define CG_FLEET_REC_LEN 56
#define CG_FLEET_MAC_LEN 32
#define CG_FLEET_MAX_RECORDS 24 /* 1,406 bytes: fits an Ethernet MTU */
#define CG_FLEET_MAX_DGRAM (CG_FLEET_HEAD_LEN + CG_FLEET_MAX_RECORDS * CG_FLEET_REC_LEN + CG_FLEET_MAC_LEN)
#define CG_FLEET_KEY_MIN 32   /* bytes of key file (after trailing blanks) */
#define CG_FLEET_KEY_MAX 4096
#define CG_FLEET_MAX_SKEW_MS 10000 /* a datagram's time vs ours, either way */
#define CG_FLEET_MAX_SENDERS 64    /* replay state kept for this many senders */
#define CG_FLEET_REPLAY_WINDOW 64  /* sequence numbers remembered below the highest */
#define CG_FLEET_MAX_PEERS 64

struct cg_fleet_msg {
	uint64_t sender; /* random per process start */
	uint64_t seq;    /* per sender, from 1 */
	int64_t time_ms; /* sender's wall clock when sent */
	unsigned count;
	struct cg_limit_delta rec[CG_FLEET_MAX_RECORDS];
};

enum cg_fleet_verdict {
	CG_FLEET_OK,
	CG_FLEET_MALFORMED, /* wrong length, magic or record count */
	CG_FLEET_BAD_MAC,   /* not from a holder of the key (or altered) */
	CG_FLEET_REPLAY,    /* sequence seen already, or too old to tell */
	CG_FLEET_STALE,     /* time outside CG_FLEET_MAX_SKEW_MS */
	CG_FLEET_VERDICTS
};

/* "ok", "malformed", "mac", "replay", "stale" (metric labels). */
const char *cg_fleet_verdict_name(enum cg_fleet_verdict v);

/* Writes m (count <= CG_FLEET_MAX_RECORDS) with its HMAC into out (cap >=
 * CG_FLEET_MAX_DGRAM). Returns the datagram's length, 0 on a bad count or
 * an OpenSSL failure. */
size_t cg_fleet_encode(const struct cg_fleet_msg *m, const unsigned char *key, size_t keylen, unsigned char *out,
		       size_t cap);

/* Checks the length and the HMAC (in constant time) of in[0..len), then
 * reads it into m. Reads nothing beyond len; returns CG_FLEET_OK,
 * CG_FLEET_MALFORMED or CG_FLEET_BAD_MAC. Records are not judged here
 * (cg_limit_merge does). */
enum cg_fleet_verdict cg_fleet_decode(const unsigned char *in, size_t len, const unsigned char *key, size_t keylen,
				      struct cg_fleet_msg *m);

/* Replay guard over authenticated datagrams: per sender, the highest
 * sequence and a bitmap of the CG_FLEET_REPLAY_WINDOW below it; a
 * datagram's time must be within CG_FLEET_MAX_SKEW_MS of now. At most
 * CG_FLEET_MAX_SENDERS senders; a new one replaces the one heard from
 * least recently. */
struct cg_fleet_replay {
	struct {
		uint64_t sender, top, bits;
		int64_t seen_ms;
		bool used;
	} s[CG_FLEET_MAX_SENDERS];
};

/* Returns CG_FLEET_OK (and remembers the sequence), CG_FLEET_REPLAY or
 * CG_FLEET_STALE. */
enum cg_fleet_verdict cg_fleet_replay_check(struct cg_fleet_replay *r, const struct cg_fleet_msg *m, int64_t now_ms);

/* Reads a fleet key file: its bytes without trailing blanks (a newline),
 * CG_FLEET_KEY_MIN to CG_FLEET_KEY_MAX of them. Returns the length, or 0
 * with a message in err naming the file (never the key). */
size_t cg_fleet_key_load(const char *path, unsigned char *key, size_t cap, char *err, size_t errlen);

/* ---- the runtime ----------------------------------------------------------- */

struct cg_fleet_opts {
	const char *listen;                       /* ADDR:PORT, UDP */
	const char *peers[CG_FLEET_MAX_PEERS];    /* ADDR:PORT, UDP */
	int num_peers;
	const char *key_file;
	unsigned char key[CG_FLEET_KEY_MAX]; /* read by cg_fleet_key_load */
	size_t keylen;
	uint64_t interval_ms; /* deltas are sent this often (when any) */
};

struct cg_fleet_stats {
	uint64_t sent;     /* datagrams, one per peer */
	uint64_t received; /* accepted */
	uint64_t rejected[CG_FLEET_VERDICTS]; /* by verdict; [CG_FLEET_OK] unused */
	uint64_t applied, ignored; /* records: counted, or refused by cg_limit_merge */
	uint64_t peers_up;         /* peers heard from lately (gauge) */
	int num_peers;
};

struct cg_fleet;

/* Binds the socket, resolves the peers (numeric addresses), copies the key
 * (o->key, read beforehand with cg_fleet_key_load so that a bad key file
 * is refused before anything starts; the caller cleanses its copy), turns
 * fleet counting on (cg_limits_fleet_enable) and starts the thread.
 * Returns NULL with a message in err. The caller owns the result. */
struct cg_fleet *cg_fleet_start(const struct cg_fleet_opts *o, char *err, size_t errlen);

/* Stops the thread (sends what is left first) and frees f (NULL: nothing). */
void cg_fleet_stop(struct cg_fleet *f);

void cg_fleet_stats(const struct cg_fleet *f, struct cg_fleet_stats *out);

#endif

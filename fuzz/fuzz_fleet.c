/* Fuzzer for fleet datagrams (cg_fleet_decode, cg_fleet_replay_check,
 * cg_limit_merge): every byte a peer -- or anyone who can reach the
 * fleet's UDP port -- sends goes through them.
 *
 * The input is used twice: as a datagram under the fixed key (nearly
 * always refused at the MAC), and as the body of a datagram that the
 * fuzzer signs itself, so the parser behind the MAC check is reached too.
 * Properties: a datagram that decodes re-encodes to the same bytes; its
 * records never make the counter table fail. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw/fleet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char KEY[] = "fuzz-fleet-key-fuzz-fleet-key-00";

static void check(const unsigned char *buf, size_t len)
{
	static struct cg_fleet_replay replay;
	static struct cg_fleet_msg m;
	if (cg_fleet_decode(buf, len, KEY, 32, &m) != CG_FLEET_OK)
		return;
	unsigned char again[CG_FLEET_MAX_DGRAM];
	size_t n = cg_fleet_encode(&m, KEY, 32, again, sizeof(again));
	if (n != len || memcmp(again, buf, len) != 0)
		abort();
	cg_fleet_replay_check(&replay, &m, m.time_ms);
	for (unsigned i = 0; i < m.count; i++)
		cg_limit_merge(&m.rec[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Copied so that a read past the end is caught by ASan. */
	unsigned char *buf = malloc(size + CG_FLEET_MAC_LEN + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	check(buf, size);
	unsigned int n = 0;
	if (HMAC(EVP_sha256(), KEY, 32, buf, size, buf + size, &n))
		check(buf, size + n);
	free(buf);
	return 0;
}

/* Fuzzer for DER certificates: cg_x509_view_from_der (the .NET view every
 * uploaded certificate goes through) and, for what parses, the claim
 * matchers and chain verification against a store that trusts nothing.
 *
 * Beyond "no crash, no leak, no read past the input" it checks
 * properties: a parsed view's Thumbprint is the SHA-1 of its RawData, and
 * of the input whenever RawData is the input (it is OpenSSL's re-encoding:
 * the corpus file bitstring-unused-bits.der, found here, has junk in the
 * signature's unused bits, which OpenSSL clears, so RawData and Thumbprint
 * differ from the wire bytes there); the view matches its own thumbprint, serial, common
 * name and SAN dNSNames; failures leave *out NULL with a message; and an
 * empty trust store never says a certificate is trusted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "tls/trust.h"
#include "tls/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One empty, finished store for the whole run (read-only afterwards). */
static struct cg_arena g_store_arena;
static struct cg_trust *g_empty;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_empty) {
		cg_arena_init(&g_store_arena, 16 * 1024, 0);
		g_empty = cg_trust_new(&g_store_arena, 1);
		if (!g_empty || cg_trust_finish(g_empty, NULL, 0) != 0)
			abort();
	}
	struct cg_arena a;
	struct cg_x509 *c = NULL;
	char err[256] = "";
	cg_arena_init(&a, 16 * 1024, 8u << 20);
	/* Copied so that a read past the input's end is caught by ASan. */
	unsigned char *der = malloc(size ? size : 1);
	if (!der)
		return 0;
	if (size)
		memcpy(der, data, size);
	if (cg_x509_view_from_der(der, size, &a, &c, err, sizeof(err)) == 0) {
		char tp[CG_X509_SHA1_HEX_LEN], raw_tp[CG_X509_SHA1_HEX_LEN];
		if (!c || !c->raw.len)
			abort();
		cg_x509_thumbprint_der((const unsigned char *)c->raw.ptr, c->raw.len, raw_tp);
		if (strcmp(raw_tp, c->thumbprint) != 0)
			abort();
		cg_x509_thumbprint_der(der, size, tp);
		if (c->raw.len == size && memcmp(c->raw.ptr, der, size) == 0 && strcmp(tp, c->thumbprint) != 0)
			abort();
		if (!cg_x509_thumbprint_matches(c, cg_str_from_c(c->thumbprint)))
			abort();
		/* A serial that is empty or has no hex digit never matches. */
		if (c->serial.len && !cg_x509_serial_matches(c, c->serial))
			abort();
		if (c->has_common_name && !cg_x509_common_name_matches(c, c->common_name))
			abort();
		for (size_t i = 0; i < c->num_sans; i++)
			if (c->sans[i].type == CG_X509_SAN_DNS && c->sans[i].value.len &&
			    !cg_x509_dns_name_matches(c, c->sans[i].value))
				abort();
		struct cg_trust_result r;
		if (cg_trust_verify(g_empty, c->x509, NULL, c->not_before,
				    CG_TRUST_CHECK_TIME | CG_TRUST_CHECK_REVOCATION, &r) ||
		    r.reason == CG_TRUST_OK || !r.error_text)
			abort();
	} else if (c != NULL || err[0] == '\0') {
		abort();
	}
	free(der);
	cg_arena_destroy(&a);
	return 0;
}

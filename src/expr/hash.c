/* Hash algorithms (SHA1/256/384/512, MD5) and their HMAC forms on OpenSSL:
 * SHA256.Create(), new SHA256Managed(), new HMACSHA256(key),
 * ComputeHash(byte[]). One-shot only (no TransformBlock). */
#include "expr/internal.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

struct cg_expr_hash {
	const char *md;   /* OpenSSL digest name */
	bool hmac;
	struct cg_str key;
};

static const struct {
	const char *name; /* as written in the expression */
	const char *md;
	bool hmac;
} algs[] = {
	{ "SHA1", "SHA1", false }, { "SHA1Managed", "SHA1", false },
	{ "SHA256", "SHA256", false }, { "SHA256Managed", "SHA256", false },
	{ "SHA384", "SHA384", false }, { "SHA384Managed", "SHA384", false },
	{ "SHA512", "SHA512", false }, { "SHA512Managed", "SHA512", false },
	{ "MD5", "MD5", false },
	{ "HMACSHA1", "SHA1", true }, { "HMACSHA256", "SHA256", true },
	{ "HMACSHA384", "SHA384", true }, { "HMACSHA512", "SHA512", true }, { "HMACMD5", "MD5", true },
};

/* Which algorithm a type name means, or -1. Used by the checker to record
 * it in the node (lit.u.i) for Create() and constructors. */
int cg_expr_hash_alg(struct cg_str name)
{
	size_t dot = name.len;
	while (dot > 0 && name.ptr[dot - 1] != '.')
		dot--;
	struct cg_str last = cg_str_sub(name, dot, name.len - dot);
	for (size_t k = 0; k < sizeof(algs) / sizeof(algs[0]); k++)
		if (cg_str_eq(last, cg_str_from_c(algs[k].name)))
			return (int)k;
	return -1;
}

bool cg_expr_hash_hmac(int alg)
{
	return alg >= 0 && (size_t)alg < sizeof(algs) / sizeof(algs[0]) && algs[alg].hmac;
}

CG_EXPR_JSON_FN(cg_expr_hash_new)
{
	int k = r->node->lit.kind == CG_EXPR_V_INT ? r->node->lit.u.i : -1;
	if (k < 0 || (size_t)k >= sizeof(algs) / sizeof(algs[0]))
		return cg_expr_throw(r, "InvalidOperationException", "unknown hash algorithm");
	struct cg_expr_hash *h = cg_arena_zalloc(r->ctx->arena, sizeof(*h));
	if (!h)
		return cg_expr_nomem(r);
	h->md = algs[k].md;
	h->hmac = algs[k].hmac;
	if (h->hmac) {
		if (nargs > 0 && args[0].kind == CG_EXPR_V_NULL)
			return cg_expr_throw(r, "ArgumentNullException", "Value cannot be null. (Parameter 'key')");
		h->key = nargs > 0 ? args[0].u.s : CG_STR("");
	}
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_OBJ;
	out->cls = CG_EXPR_T_HASH;
	out->u.obj = h;
	return 0;
}

CG_EXPR_JSON_FN(cg_expr_hash_compute)
{
	const struct cg_expr_hash *h = self->u.obj;
	if (args[0].kind == CG_EXPR_V_NULL)
		return cg_expr_throw(r, "ArgumentNullException", "Value cannot be null. (Parameter 'buffer')");
	const EVP_MD *md = EVP_get_digestbyname(h->md);
	char *p = cg_expr_strbuf(r, EVP_MAX_MD_SIZE);
	if (!p)
		return -1;
	unsigned int n = 0;
	struct cg_str in = args[0].u.s;
	int ok;
	if (h->hmac)
		ok = HMAC(md, h->key.ptr ? h->key.ptr : "", (int)h->key.len, (const unsigned char *)(in.ptr ? in.ptr : ""),
			  in.len, (unsigned char *)p, &n) != NULL;
	else
		ok = md && EVP_Digest(in.ptr ? in.ptr : "", in.len, (unsigned char *)p, &n, md, NULL) == 1;
	if (!ok)
		return cg_expr_throw(r, "Security.Cryptography.CryptographicException", "hash computation failed");
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_BYTES;
	out->cls = CG_EXPR_T_BYTE;
	out->u.s = cg_str_make(p, n);
	return 0;
}

CG_EXPR_JSON_FN(cg_expr_hash_dispose)
{
	memset(out, 0, sizeof(*out));
	return 0;
}

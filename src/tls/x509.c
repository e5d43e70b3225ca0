/* The .NET view of an X.509 certificate: Subject/Issuer in Windows X500
 * form, SerialNumber, dates, SANs, GetNameInfo, ToString, thumbprints; and
 * the structural DN comparison of validate-client-certificate.
 *
 * Rules come from .NET's X500NameEncoder (managed decoder used on Linux),
 * its OidLookup table (names taken from Windows) and the CertNameToStr /
 * CertGetNameString documentation; docs/x509.md lists them with examples.
 * Everything is computed once, eagerly, so a view is immutable and can be
 * shared by worker threads (a snapshot's uploaded certificates). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "tls/x509.h"

static const char hexdig[] = "0123456789ABCDEF";

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- digests --------------------------------------------------------- */

/* Fetched once: OpenSSL 3's EVP_sha1() re-fetches the implementation under
 * a lock on every use, which shows in profiles of the TLS path. */
static EVP_MD *md_sha1, *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
	md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void hex_upper(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[p[i] >> 4];
		out[2 * i + 1] = hexdig[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void digest_hex(const EVP_MD *md, const unsigned char *der, size_t len, char *out, size_t mdlen)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	out[0] = '\0';
	if (!md || !EVP_Digest(der, len, h, &hl, md, NULL) || hl != mdlen)
		return;
	hex_upper(h, hl, out);
}

void cg_x509_thumbprint_der(const unsigned char *der, size_t len, char out[CG_X509_SHA1_HEX_LEN])
{
	pthread_once(&md_once, md_fetch);
	digest_hex(md_sha1, der, len, out, 20);
}

void cg_x509_sha256_der(const unsigned char *der, size_t len, char out[CG_X509_SHA256_HEX_LEN])
{
	pthread_once(&md_once, md_fetch);
	digest_hex(md_sha256, der, len, out, 32);
}

/* ---- attribute keys -------------------------------------------------- */

/* The X500 keys Windows prints (and .NET's OidLookup reproduces on every
 * platform). An attribute not listed is printed as "OID.<dotted>=". */
static const struct {
	int nid;
	const char *key;
} dotnet_keys[] = {
	{ NID_commonName, "CN" },
	{ NID_localityName, "L" },
	{ NID_organizationName, "O" },
	{ NID_organizationalUnitName, "OU" },
	{ NID_pkcs9_emailAddress, "E" },
	{ NID_countryName, "C" },
	{ NID_stateOrProvinceName, "S" },
	{ NID_streetAddress, "STREET" },
	{ NID_title, "T" },
	{ NID_givenName, "G" },
	{ NID_initials, "I" },
	{ NID_surname, "SN" },
	{ NID_domainComponent, "DC" },
	{ NID_serialNumber, "SERIALNUMBER" },
	{ NID_description, "Description" },
	{ NID_postalCode, "PostalCode" },
	{ NID_postOfficeBox, "POBox" },
	{ NID_telephoneNumber, "Phone" },
	{ NID_x121Address, "X21Address" },
	{ NID_dnQualifier, "dnQualifier" },
};

struct cg_str cg_x509_dotnet_key(int nid)
{
	if (nid == NID_undef)
		return CG_STR("");
	for (size_t i = 0; i < sizeof(dotnet_keys) / sizeof(dotnet_keys[0]); i++)
		if (dotnet_keys[i].nid == nid)
			return cg_str_from_c(dotnet_keys[i].key);
	return CG_STR("");
}

/* ---- value decoding -------------------------------------------------- */

/* A bounded output window; over is set instead of writing past cap. */
struct out {
	char *p;
	size_t n, cap;
	bool over;
};

static void out_put(struct out *o, const void *s, size_t n)
{
	if (o->over || n > o->cap - o->n) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void out_cp(struct out *o, unsigned long cp)
{
	unsigned char b[4];
	size_t n;
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	out_put(o, b, n);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid
 * (overlong forms, surrogates and values above U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *p, size_t n, unsigned long *cp)
{
	unsigned char c = p[0];
	size_t len;
	unsigned long v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		len = 2, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

static bool utf8_valid(const unsigned char *p, size_t n)
{
	unsigned long cp;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq(p + i, n - i, &cp);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

/* "#" and uppercase hex of the value's DER (of an OCTET STRING's contents
 * only: Windows unwraps one OCTET STRING). */
static void value_binary(const ASN1_STRING *v, struct out *o)
{
	ASN1_TYPE *t = ASN1_TYPE_new();
	unsigned char *der = NULL;
	int len = -1;
	if (t && ASN1_TYPE_set1(t, ASN1_STRING_type(v), v))
		len = i2d_ASN1_TYPE(t, &der);
	ASN1_TYPE_free(t);
	out_put(o, "#", 1);
	if (len <= 0) {
		o->over = true;
		return;
	}
	const unsigned char *p = der;
	size_t n = (size_t)len;
	if (n >= 2 && p[0] == 0x04) {
		/* Primitive OCTET STRING: skip tag and length. */
		size_t hdr = 2;
		if (p[1] & 0x80)
			hdr += p[1] & 0x7F;
		if (hdr <= n) {
			p += hdr;
			n -= hdr;
		}
	}
	for (size_t i = 0; i < n && !o->over; i++) {
		char h[2] = { hexdig[p[i] >> 4], hexdig[p[i] & 15] };
		out_put(o, h, 2);
	}
	OPENSSL_free(der);
}

/* Decodes v into o as .NET's X500NameEncoder does: the six text types it
 * reads become text, anything else "#hex". Where .NET would throw on bad
 * bytes (and show an empty name) we keep going: Latin-1 for 8-bit bytes
 * in the ASCII types, U+FFFD for invalid UTF-8/UTF-16. */
static void value_decode(const ASN1_STRING *v, struct out *o, bool *binary)
{
	const unsigned char *p = ASN1_STRING_get0_data(v);
	size_t n = (size_t)ASN1_STRING_length(v);
	size_t start = o->n;
	*binary = false;
	switch (ASN1_STRING_type(v)) {
	case V_ASN1_UTF8STRING:
		for (size_t i = 0; i < n;) {
			unsigned long cp;
			size_t l = utf8_seq(p + i, n - i, &cp);
			if (!l) {
				out_cp(o, 0xFFFD);
				i++;
			} else {
				out_put(o, p + i, l);
				i += l;
			}
		}
		break;
	case V_ASN1_T61STRING:
		if (utf8_valid(p, n)) {
			out_put(o, p, n);
			break;
		}
		/* not UTF-8: Latin-1, as .NET's T61 decoder */
		__attribute__((fallthrough));
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_NUMERICSTRING:
		for (size_t i = 0; i < n; i++)
			out_cp(o, p[i]);
		break;
	case V_ASN1_BMPSTRING:
		for (size_t i = 0; i + 1 < n; i += 2) {
			unsigned long u = ((unsigned long)p[i] << 8) | p[i + 1];
			if (u >= 0xD800 && u <= 0xDBFF && i + 3 < n) {
				unsigned long lo = ((unsigned long)p[i + 2] << 8) | p[i + 3];
				if (lo >= 0xDC00 && lo <= 0xDFFF) {
					u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
					i += 2;
				}
			}
			out_cp(o, u);
		}
		if (n & 1)
			out_cp(o, 0xFFFD);
		break;
	default:
		*binary = true;
		value_binary(v, o);
		return;
	}
	/* .NET: TrimEnd('\0'). */
	while (o->n > start && o->p[o->n - 1] == '\0')
		o->n--;
}

int cg_x509_value_to_utf8(const ASN1_STRING *v, struct cg_arena *a, struct cg_str *out, bool *binary,
			  char *err, size_t errlen)
{
	char tmp[CG_X509_MAX_VALUE_LEN];
	struct out o = { tmp, 0, sizeof(tmp), false };
	bool bin;
	value_decode(v, &o, &bin);
	if (o.over) {
		seterr(err, errlen, "attribute value longer than %d bytes", CG_X509_MAX_VALUE_LEN);
		return -1;
	}
	char *p = cg_arena_strndup(a, tmp, o.n);
	if (!p) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	*out = cg_str_make(p, o.n);
	if (binary)
		*binary = bin;
	return 0;
}

/* ---- names ----------------------------------------------------------- */

/* RDN boundaries of a name: rdn_start[i] is the index of the first entry
 * of RDN i (entries of one RDN are adjacent and share X509_NAME_ENTRY_set). */
struct rdns {
	int start[CG_X509_MAX_RDNS + 1];
	int n;
};

static int name_rdns(const X509_NAME *name, struct rdns *r, char *err, size_t errlen)
{
	int count = X509_NAME_entry_count(name);
	int prev = -1;
	r->n = 0;
	for (int i = 0; i < count; i++) {
		int set = X509_NAME_ENTRY_set(X509_NAME_get_entry(name, i));
		if (i == 0 || set != prev) {
			if (r->n == CG_X509_MAX_RDNS) {
				seterr(err, errlen, "name has more than %d RDNs", CG_X509_MAX_RDNS);
				return -1;
			}
			r->start[r->n++] = i;
		} else if (i - r->start[r->n - 1] >= CG_X509_MAX_RDN_VALUES) {
			seterr(err, errlen, "RDN has more than %d values", CG_X509_MAX_RDN_VALUES);
			return -1;
		}
		prev = set;
	}
	r->start[r->n] = count;
	return 0;
}

static bool quotable_space(unsigned char c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0D);
}

static bool needs_quoting(const char *p, size_t n)
{
	if (n == 0 || quotable_space((unsigned char)p[0]) || quotable_space((unsigned char)p[n - 1]))
		return true;
	for (size_t i = 0; i < n; i++)
		switch (p[i]) {
		case ',': case '+': case '=': case '"': case '\n':
		case '<': case '>': case '#': case ';':
			return true;
		}
	return false;
}

/* Appends KEY=value with .NET's quoting. */
static void put_ava(struct out *o, struct cg_str key, const char *oid, const char *v, size_t vn, bool binary)
{
	if (key.len) {
		out_put(o, key.ptr, key.len);
	} else {
		out_put(o, "OID.", 4);
		out_put(o, oid, strlen(oid));
	}
	out_put(o, "=", 1);
	if (binary || !needs_quoting(v, vn)) {
		out_put(o, v, vn);
		return;
	}
	out_put(o, "\"", 1);
	for (size_t i = 0; i < vn; i++) {
		if (v[i] == '"')
			out_put(o, "\"", 1);
		out_put(o, v + i, 1);
	}
	out_put(o, "\"", 1);
}

static void obj_dotted(const ASN1_OBJECT *obj, char *buf, size_t cap)
{
	int r = OBJ_obj2txt(buf, (int)cap, obj, 1);
	if (r <= 0 || (size_t)r >= cap)
		snprintf(buf, cap, "?");
}

static int render_name(const X509_NAME *name, struct out *o, char *err, size_t errlen)
{
	struct rdns r;
	if (name_rdns(name, &r, err, errlen) != 0)
		return -1;
	char val[CG_X509_MAX_VALUE_LEN];
	for (int i = r.n - 1; i >= 0; i--) {
		if (i != r.n - 1)
			out_put(o, ", ", 2);
		for (int e = r.start[i]; e < r.start[i + 1]; e++) {
			const X509_NAME_ENTRY *ent = X509_NAME_get_entry(name, e);
			const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(ent);
			struct out vo = { val, 0, sizeof(val), false };
			bool bin;
			char oid[CG_X509_MAX_OID_LEN + 1];
			value_decode(X509_NAME_ENTRY_get_data(ent), &vo, &bin);
			if (vo.over) {
				seterr(err, errlen, "attribute value longer than %d bytes", CG_X509_MAX_VALUE_LEN);
				return -1;
			}
			struct cg_str key = cg_x509_dotnet_key(OBJ_obj2nid(obj));
			oid[0] = '\0';
			if (!key.len)
				obj_dotted(obj, oid, sizeof(oid));
			if (e != r.start[i])
				out_put(o, " + ", 3);
			put_ava(o, key, oid, val, vo.n, bin);
		}
	}
	if (o->over) {
		seterr(err, errlen, "name longer than %d bytes", CG_X509_MAX_NAME_LEN);
		return -1;
	}
	return 0;
}

int cg_x509_name_to_dotnet(const X509_NAME *name, struct cg_arena *a, struct cg_str *out, char *err,
			   size_t errlen)
{
	struct cg_buf b;
	cg_buf_init(&b, CG_X509_MAX_NAME_LEN);
	if (cg_buf_reserve(&b, CG_X509_MAX_NAME_LEN) != 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	struct out o = { b.data, 0, CG_X509_MAX_NAME_LEN, false };
	int rc = -1;
	if (!name) {
		seterr(err, errlen, "no name");
	} else if (render_name(name, &o, err, errlen) == 0) {
		char *p = cg_arena_strndup(a, o.p, o.n);
		if (p) {
			*out = cg_str_make(p, o.n);
			rc = 0;
		} else {
			seterr(err, errlen, "out of memory");
		}
	}
	cg_buf_free(&b);
	return rc;
}

/* ---- DN comparison --------------------------------------------------- */

static bool ava_type_eq(const struct cg_dn_ava *w, const ASN1_OBJECT *obj)
{
	int nid = OBJ_obj2nid(obj);
	if (w->nid != NID_undef || nid != NID_undef)
		return w->nid == nid;
	char oid[CG_X509_MAX_OID_LEN + 1];
	obj_dotted(obj, oid, sizeof(oid));
	return cg_str_eq(w->oid, cg_str_from_c(oid));
}

static bool ava_eq(const struct cg_dn_ava *w, const X509_NAME_ENTRY *ent)
{
	if (!ava_type_eq(w, X509_NAME_ENTRY_get_object(ent)))
		return false;
	char val[CG_X509_MAX_VALUE_LEN];
	struct out vo = { val, 0, sizeof(val), false };
	bool bin;
	value_decode(X509_NAME_ENTRY_get_data(ent), &vo, &bin);
	if (vo.over || bin)
		return false;
	return cg_str_eq(w->value, cg_str_make(val, vo.n));
}

/* Same set of (type, value) pairs: a one-to-one pairing must exist. */
static bool rdn_eq(const struct cg_dn_rdn *w, const X509_NAME *have, int first, int end)
{
	if ((size_t)(end - first) != w->num_avas)
		return false;
	bool used[CG_X509_MAX_RDN_VALUES] = { false };
	for (size_t i = 0; i < w->num_avas; i++) {
		bool found = false;
		for (int e = first; e < end && !found; e++) {
			if (used[e - first])
				continue;
			if (ava_eq(&w->avas[i], X509_NAME_get_entry(have, e))) {
				used[e - first] = true;
				found = true;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

bool cg_dn_matches(const struct cg_dn *want, const X509_NAME *have)
{
	struct rdns r;
	if (!want || !have || name_rdns(have, &r, NULL, 0) != 0)
		return false;
	if ((size_t)r.n != want->num_rdns || r.n == 0)
		return false;
	bool fwd = true, rev = true;
	for (int i = 0; i < r.n && fwd; i++)
		fwd = rdn_eq(&want->rdns[i], have, r.start[i], r.start[i + 1]);
	if (fwd)
		return true;
	for (int i = 0; i < r.n && rev; i++) {
		int j = r.n - 1 - i;
		rev = rdn_eq(&want->rdns[i], have, r.start[j], r.start[j + 1]);
	}
	return rev;
}

/* ---- the view -------------------------------------------------------- */

static void x509_release(void *p)
{
	X509_free(p);
}

static int asn1_time_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

#define DOTNET_EPOCH_OFFSET 62135596800LL /* seconds from 0001-01-01 to 1970-01-01 */

static int64_t epoch_to_ticks(int64_t s)
{
	return (s + DOTNET_EPOCH_OFFSET) * 10000000LL;
}

static const struct {
	const char *oid;
	const char *name;
} sig_names[] = {
	{ "1.2.840.113549.1.1.2", "md2RSA" },
	{ "1.2.840.113549.1.1.3", "md4RSA" },
	{ "1.2.840.113549.1.1.4", "md5RSA" },
	{ "1.2.840.113549.1.1.5", "sha1RSA" },
	{ "1.2.840.113549.1.1.10", "RSASSA-PSS" },
	{ "1.2.840.113549.1.1.11", "sha256RSA" },
	{ "1.2.840.113549.1.1.12", "sha384RSA" },
	{ "1.2.840.113549.1.1.13", "sha512RSA" },
	{ "1.2.840.10045.4.1", "sha1ECDSA" },
	{ "1.2.840.10045.4.3", "specifiedECDSA" },
	{ "1.2.840.10045.4.3.2", "sha256ECDSA" },
	{ "1.2.840.10045.4.3.3", "sha384ECDSA" },
	{ "1.2.840.10045.4.3.4", "sha512ECDSA" },
	{ "1.2.840.10040.4.3", "sha1DSA" },
	{ "1.3.14.3.2.29", "sha1RSA" },
	{ "1.3.14.3.2.13", "sha1DSA" },
	{ "1.3.14.3.2.3", "md5RSA" },
};

static struct cg_str adup(struct cg_arena *a, const char *s, size_t n, bool *oom)
{
	char *p = cg_arena_strndup(a, s, n);
	if (!p) {
		*oom = true;
		return CG_STR("");
	}
	return cg_str_make(p, n);
}

/* Serial: the DER INTEGER's content octets, as .NET shows them (a
 * positive serial with its high bit set keeps its leading 00). */
static int serial_hex(X509 *x, struct cg_arena *a, struct cg_str *out)
{
	unsigned char *der = NULL;
	int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der);
	if (len < 2) {
		OPENSSL_free(der);
		return -1;
	}
	size_t hdr = 2;
	if (der[1] & 0x80)
		hdr += der[1] & 0x7F;
	if (hdr > (size_t)len) {
		OPENSSL_free(der);
		return -1;
	}
	size_t n = (size_t)len - hdr;
	char *p = cg_arena_alloc(a, 2 * n + 1);
	if (p)
		hex_upper(der + hdr, n, p);
	OPENSSL_free(der);
	if (!p)
		return -1;
	*out = cg_str_make(p, 2 * n);
	return 0;
}

static int collect_alt_names(X509 *x, int nid, struct cg_arena *a, const struct cg_x509_san **out,
			     size_t *num, bool *truncated, char *err, size_t errlen)
{
	int crit = 0;
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, nid, &crit, NULL);
	*out = NULL;
	*num = 0;
	if (truncated)
		*truncated = false;
	if (!gens) {
		if (crit == -2) {
			seterr(err, errlen, "certificate has more than one %s extension", OBJ_nid2sn(nid));
			return -1;
		}
		/* crit == -1: absent. A malformed extension is ignored, as .NET
		 * shows no names from it. */
		return 0;
	}
	int count = sk_GENERAL_NAME_num(gens);
	struct cg_x509_san *sans = cg_arena_alloc(a, sizeof(*sans) * CG_X509_MAX_SANS);
	if (!sans) {
		GENERAL_NAMES_free(gens);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	size_t n = 0;
	int rc = 0;
	for (int i = 0; i < count && rc == 0; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s = NULL;
		enum cg_x509_san_type type;
		char ip[INET6_ADDRSTRLEN];
		struct cg_str v = CG_STR_NULL;
		switch (g->type) {
		case GEN_DNS:
			type = CG_X509_SAN_DNS, s = g->d.dNSName;
			break;
		case GEN_EMAIL:
			type = CG_X509_SAN_EMAIL, s = g->d.rfc822Name;
			break;
		case GEN_URI:
			type = CG_X509_SAN_URI, s = g->d.uniformResourceIdentifier;
			break;
		case GEN_IPADD: {
			int l = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *b = ASN1_STRING_get0_data(g->d.iPAddress);
			if (l != 4 && l != 16)
				continue; /* a name constraint's address/mask, not an address */
			if (!inet_ntop(l == 4 ? AF_INET : AF_INET6, b, ip, sizeof(ip)))
				continue;
			type = CG_X509_SAN_IP;
			v = cg_str_from_c(ip);
			break;
		}
		case GEN_OTHERNAME:
			if (OBJ_obj2nid(g->d.otherName->type_id) != NID_ms_upn ||
			    g->d.otherName->value->type != V_ASN1_UTF8STRING)
				continue;
			type = CG_X509_SAN_UPN, s = g->d.otherName->value->value.utf8string;
			break;
		default:
			continue;
		}
		if (n == CG_X509_MAX_SANS) {
			if (truncated)
				*truncated = true;
			break;
		}
		sans[n].type = type;
		if (s) {
			rc = cg_x509_value_to_utf8(s, a, &sans[n].value, NULL, err, errlen);
		} else {
			bool oom = false;
			sans[n].value = adup(a, v.ptr, v.len, &oom);
			if (oom) {
				seterr(err, errlen, "out of memory");
				rc = -1;
			}
		}
		n++;
	}
	GENERAL_NAMES_free(gens);
	*out = sans;
	*num = n;
	return rc;
}

/* The first alternative name of type t; false when there is none (an
 * empty name counts as found, as in .NET). */
static bool first_alt(const struct cg_x509_san *s, size_t n, enum cg_x509_san_type t, struct cg_str *out)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].type == t) {
			*out = s[i].value;
			return true;
		}
	return false;
}

/* .NET reads only these types when it looks for a name attribute. */
static bool name_info_text_type(const ASN1_STRING *v)
{
	switch (ASN1_STRING_type(v)) {
	case V_ASN1_BMPSTRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_T61STRING:
		return true;
	}
	return false;
}

/* GetNameInfo, computed once, following .NET's managed implementation
 * (CertificateData.GetNameInfo, used on Linux, so by the self-hosted
 * gateway). Attributes are visited in .NET's display order: RDNs from
 * the most specific (last encoded) one, values of one RDN in encoded
 * order. */
static int name_info(struct cg_x509 *c, bool for_issuer, struct cg_arena *a, char *err, size_t errlen)
{
	const X509_NAME *name = for_issuer ? X509_get_issuer_name(c->x509) : X509_get_subject_name(c->x509);
	const struct cg_x509_san *alt = for_issuer ? c->issuer_alt_names : c->sans;
	size_t nalt = for_issuer ? c->num_issuer_alt_names : c->num_sans;
	struct cg_str *ni = c->name_info[for_issuer];
	/* Index of: first CN, first E, last OU, last O, first other. */
	int cn = -1, e = -1, ou = -1, o = -1, other = -1;
	struct rdns r;

	for (int t = 0; t < CG_X509_NAME_TYPES; t++)
		ni[t] = CG_STR("");
	if (name_rdns(name, &r, err, errlen) != 0)
		return -1;
	for (int i = r.n - 1; i >= 0; i--) {
		for (int k = r.start[i]; k < r.start[i + 1]; k++) {
			const X509_NAME_ENTRY *ent = X509_NAME_get_entry(name, k);
			if (!name_info_text_type(X509_NAME_ENTRY_get_data(ent)))
				continue;
			switch (OBJ_obj2nid(X509_NAME_ENTRY_get_object(ent))) {
			case NID_commonName:
				if (cn < 0)
					cn = k;
				break;
			case NID_organizationalUnitName:
				ou = k;
				break;
			case NID_organizationName:
				o = k;
				break;
			case NID_pkcs9_emailAddress:
				if (e < 0)
					e = k;
				break;
			default:
				if (other < 0)
					other = k;
			}
		}
	}
	struct cg_str cn_v = CG_STR(""), e_v = CG_STR(""), simple = CG_STR("");
	int pick = cn >= 0 ? cn : ou >= 0 ? ou : o >= 0 ? o : e >= 0 ? e : other;
	if (cn >= 0 && cg_x509_value_to_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, cn)), a, &cn_v,
					     NULL, err, errlen) != 0)
		return -1;
	if (e >= 0 && cg_x509_value_to_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, e)), a, &e_v,
					    NULL, err, errlen) != 0)
		return -1;
	if (pick >= 0 && cg_x509_value_to_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, pick)), a,
					       &simple, NULL, err, errlen) != 0)
		return -1;

	/* SimpleName: CN, else OU, O, E, any other attribute; with no text
	 * attribute at all, the first alternative e-mail name. */
	if (pick >= 0)
		ni[CG_X509_NAME_SIMPLE] = simple;
	else
		first_alt(alt, nalt, CG_X509_SAN_EMAIL, &ni[CG_X509_NAME_SIMPLE]);
	/* EmailName: alternative e-mail name, else the E attribute. */
	if (!first_alt(alt, nalt, CG_X509_SAN_EMAIL, &ni[CG_X509_NAME_EMAIL]))
		ni[CG_X509_NAME_EMAIL] = e_v;
	first_alt(alt, nalt, CG_X509_SAN_UPN, &ni[CG_X509_NAME_UPN]);
	/* DnsName: alternative DNS name, else the CN; DnsFromAlternativeName
	 * has no fallback. */
	if (!first_alt(alt, nalt, CG_X509_SAN_DNS, &ni[CG_X509_NAME_DNS]))
		ni[CG_X509_NAME_DNS] = cn_v;
	if (!for_issuer) {
		c->common_name = cn_v;
		c->has_common_name = cn >= 0;
	}
	first_alt(alt, nalt, CG_X509_SAN_DNS, &ni[CG_X509_NAME_DNS_FROM_ALT]);
	first_alt(alt, nalt, CG_X509_SAN_URI, &ni[CG_X509_NAME_URL]);
	return 0;
}

struct cg_str cg_x509_get_name_info(const struct cg_x509 *c, enum cg_x509_name_type type, bool for_issuer)
{
	if (!c || (int)type < 0 || (int)type >= CG_X509_NAME_TYPES)
		return CG_STR("");
	return c->name_info[for_issuer ? 1 : 0][type];
}

/* en-US "M/d/yyyy h:mm:ss tt" in local time (the gateway runs with TZ=UTC),
 * which is what .NET's ToString prints under the en-US culture. */
static int fmt_date(int64_t epoch, struct cg_buf *b)
{
	time_t t = (time_t)epoch;
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return -1;
	int h = tm.tm_hour % 12;
	return cg_buf_printf(b, "%d/%d/%d %d:%02d:%02d %s", tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900,
			     h == 0 ? 12 : h, tm.tm_min, tm.tm_sec, tm.tm_hour < 12 ? "AM" : "PM");
}

static int build_text(struct cg_x509 *c, struct cg_arena *a)
{
	struct cg_buf b;
	int rc = 0;
	cg_buf_init(&b, 2 * CG_X509_MAX_NAME_LEN + 1024);
	rc |= cg_buf_printf(&b, "[Subject]\n  %.*s\n\n[Issuer]\n  %.*s\n\n[Serial Number]\n  %.*s\n\n[Not Before]\n  ",
			    CG_STR_FMT(c->subject), CG_STR_FMT(c->issuer), CG_STR_FMT(c->serial));
	rc |= fmt_date(c->not_before, &b);
	rc |= cg_buf_printf(&b, "\n\n[Not After]\n  ");
	rc |= fmt_date(c->not_after, &b);
	rc |= cg_buf_printf(&b, "\n\n[Thumbprint]\n  %s\n", c->thumbprint);
	if (rc == 0) {
		char *p = cg_arena_strndup(a, b.data, b.len);
		if (p)
			c->text = cg_str_make(p, b.len);
		else
			rc = -1;
	}
	cg_buf_free(&b);
	return rc ? -1 : 0;
}

int cg_x509_view_new(X509 *x, struct cg_arena *a, struct cg_x509 **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!x) {
		seterr(err, errlen, "no certificate");
		return -1;
	}
	struct cg_x509 *c = cg_arena_zalloc(a, sizeof(*c));
	if (!c || !X509_up_ref(x)) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (cg_arena_on_cleanup(a, x509_release, x) != 0) {
		X509_free(x);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	c->x509 = x;

	/* RawData: i2d reuses the cached TBS encoding; no decode happens. */
	int len = i2d_X509(x, NULL);
	if (len <= 0 || len > CG_X509_MAX_DER_LEN) {
		seterr(err, errlen, len <= 0 ? "certificate cannot be encoded" : "DER larger than %d bytes",
		       CG_X509_MAX_DER_LEN);
		return -1;
	}
	unsigned char *der = cg_arena_alloc(a, (size_t)len);
	if (!der) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	unsigned char *w = der;
	if (i2d_X509(x, &w) != len) {
		seterr(err, errlen, "certificate cannot be encoded");
		return -1;
	}
	c->raw = cg_str_make((const char *)der, (size_t)len);
	cg_x509_thumbprint_der(der, (size_t)len, c->thumbprint);
	cg_x509_sha256_der(der, (size_t)len, c->sha256);
	if (!c->thumbprint[0] || !c->sha256[0]) {
		seterr(err, errlen, "digest unavailable");
		return -1;
	}

	char sub_err[128];
	if (cg_x509_name_to_dotnet(X509_get_subject_name(x), a, &c->subject, sub_err, sizeof(sub_err)) != 0) {
		seterr(err, errlen, "subject: %s", sub_err);
		return -1;
	}
	if (cg_x509_name_to_dotnet(X509_get_issuer_name(x), a, &c->issuer, sub_err, sizeof(sub_err)) != 0) {
		seterr(err, errlen, "issuer: %s", sub_err);
		return -1;
	}
	if (serial_hex(x, a, &c->serial) != 0) {
		seterr(err, errlen, "serial number cannot be read");
		return -1;
	}
	if (asn1_time_epoch(X509_get0_notBefore(x), &c->not_before) != 0 ||
	    asn1_time_epoch(X509_get0_notAfter(x), &c->not_after) != 0) {
		seterr(err, errlen, "validity dates cannot be read");
		return -1;
	}
	c->not_before_ticks = epoch_to_ticks(c->not_before);
	c->not_after_ticks = epoch_to_ticks(c->not_after);
	c->version = (int)X509_get_version(x) + 1;

	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *algobj = NULL;
	char oid[CG_X509_MAX_OID_LEN + 1];
	bool oom = false;
	X509_get0_signature(NULL, &alg, x);
	X509_ALGOR_get0(&algobj, NULL, NULL, alg);
	obj_dotted(algobj, oid, sizeof(oid));
	c->signature_algorithm.value = adup(a, oid, strlen(oid), &oom);
	c->signature_algorithm.friendly_name = CG_STR_NULL;
	for (size_t i = 0; i < sizeof(sig_names) / sizeof(sig_names[0]); i++)
		if (strcmp(sig_names[i].oid, oid) == 0)
			c->signature_algorithm.friendly_name = cg_str_from_c(sig_names[i].name);

	if (collect_alt_names(x, NID_subject_alt_name, a, &c->sans, &c->num_sans, &c->sans_truncated, err,
			      errlen) != 0)
		return -1;
	if (collect_alt_names(x, NID_issuer_alt_name, a, &c->issuer_alt_names, &c->num_issuer_alt_names, NULL,
			      err, errlen) != 0)
		return -1;
	if (name_info(c, false, a, err, errlen) != 0 || name_info(c, true, a, err, errlen) != 0)
		return -1;
	c->friendly_name = CG_STR("");
	c->has_private_key = false;
	if (oom || build_text(c, a) != 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	*out = c;
	return 0;
}

int cg_x509_view_from_der(const unsigned char *der, size_t len, struct cg_arena *a, struct cg_x509 **out,
			  char *err, size_t errlen)
{
	*out = NULL;
	if (!der || len == 0) {
		seterr(err, errlen, "empty DER");
		return -1;
	}
	if (len > CG_X509_MAX_DER_LEN) {
		seterr(err, errlen, "DER larger than %d bytes", CG_X509_MAX_DER_LEN);
		return -1;
	}
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	ERR_clear_error();
	if (!x) {
		seterr(err, errlen, "invalid DER certificate");
		return -1;
	}
	if ((size_t)(p - der) != len) {
		X509_free(x);
		seterr(err, errlen, "trailing bytes after DER certificate");
		return -1;
	}
	int rc = cg_x509_view_new(x, a, out, err, errlen);
	X509_free(x); /* the view holds its own reference */
	return rc;
}

static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

int cg_x509_view_from_pem(struct cg_str pem, struct cg_arena *a, struct cg_x509 **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!pem.ptr || pem.len == 0) {
		seterr(err, errlen, "empty PEM");
		return -1;
	}
	if (pem.len > CG_X509_MAX_PEM_LEN) {
		seterr(err, errlen, "PEM larger than %d bytes", CG_X509_MAX_PEM_LEN);
		return -1;
	}
	if (!memmem(pem.ptr, pem.len, "-----BEGIN CERTIFICATE-----", 27) &&
	    !memmem(pem.ptr, pem.len, "-----BEGIN X509 CERTIFICATE-----", 32) &&
	    !memmem(pem.ptr, pem.len, "-----BEGIN TRUSTED CERTIFICATE-----", 35)) {
		seterr(err, errlen, "no PEM certificate found");
		return -1;
	}
	BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
	if (!bio) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	/* A refusing password callback: OpenSSL's default would prompt on the
	 * terminal for a block marked as encrypted. */
	X509 *x = PEM_read_bio_X509_AUX(bio, NULL, no_password, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (!x) {
		seterr(err, errlen, "invalid PEM certificate");
		return -1;
	}
	int rc = cg_x509_view_new(x, a, out, err, errlen);
	X509_free(x);
	return rc;
}

/* ---- identity claims ------------------------------------------------- */

static int hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = cg_ascii_lower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

bool cg_x509_thumbprint_matches(const struct cg_x509 *c, struct cg_str claim)
{
	if (!c || claim.len != CG_X509_SHA1_HEX_LEN - 1)
		return false;
	for (size_t i = 0; i < claim.len; i++)
		if (hexval((unsigned char)claim.ptr[i]) < 0 ||
		    cg_ascii_lower((unsigned char)claim.ptr[i]) != cg_ascii_lower((unsigned char)c->thumbprint[i]))
			return false;
	return true;
}

/* Hex digits of s without separators and leading zeros, into out (cap
 * bytes). Returns the digit count, or -1 for a bad character, no digit,
 * or more than cap digits. */
static long serial_norm(struct cg_str s, char *out, size_t cap)
{
	size_t n = 0;
	bool any = false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.ptr[i];
		if (ch == ' ' || ch == ':' || ch == '-')
			continue;
		if (hexval(ch) < 0)
			return -1;
		any = true;
		if (n == 0 && ch == '0')
			continue;
		if (n == cap)
			return -1;
		out[n++] = (char)cg_ascii_lower(ch);
	}
	return any ? (long)n : -1;
}

bool cg_x509_serial_matches(const struct cg_x509 *c, struct cg_str claim)
{
	char a[256], b[256];
	if (!c)
		return false;
	long na = serial_norm(c->serial, a, sizeof(a)), nb = serial_norm(claim, b, sizeof(b));
	return na >= 0 && na == nb && memcmp(a, b, (size_t)na) == 0;
}

bool cg_x509_common_name_matches(const struct cg_x509 *c, struct cg_str claim)
{
	return c && c->has_common_name && cg_str_eq(c->common_name, claim);
}

bool cg_x509_dns_name_matches(const struct cg_x509 *c, struct cg_str claim)
{
	if (!c || claim.len == 0)
		return false;
	for (size_t i = 0; i < c->num_sans; i++)
		if (c->sans[i].type == CG_X509_SAN_DNS && cg_str_ieq(c->sans[i].value, claim))
			return true;
	return false;
}

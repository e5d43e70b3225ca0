/* Types for the .NET view of an X.509 certificate (what APIM policies see as
 * X509Certificate2) and for distinguished names written by users in
 * validate-client-certificate claims. Types only; functions are in x509.h.
 *
 * A view is built once per certificate and never changes afterwards, so a
 * snapshot's views can be read by every worker without locks. All slices
 * point into the arena the view (or parsed DN) was built in. */
#ifndef CG_TLS_X509_T_H
#define CG_TLS_X509_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "base/str.h"

/* Limits. A certificate or DN text over a limit is refused with a message
 * naming the limit; nothing is silently cut except SAN lists (see below). */
#define CG_X509_MAX_RDNS 64          /* RDNs in one name (certificate or text) */
#define CG_X509_MAX_RDN_VALUES 16    /* attribute values in one multi-valued RDN */
#define CG_X509_MAX_VALUE_LEN 4096   /* bytes of one attribute value, as UTF-8 */
#define CG_X509_MAX_NAME_LEN 16384   /* bytes of one rendered Subject/Issuer */
#define CG_X509_MAX_OID_LEN 80       /* characters of a dotted OID */
#define CG_X509_MAX_SANS 128         /* SAN entries kept; more set sans_truncated */
#define CG_X509_MAX_DER_LEN (64 * 1024) /* bytes of one DER certificate */
#define CG_X509_MAX_PEM_LEN (256 * 1024)
#define CG_DN_MAX_TEXT 8192          /* bytes of DN text cg_dn_parse accepts */

#define CG_X509_SHA1_HEX_LEN 41      /* 40 hex digits and a NUL */
#define CG_X509_SHA256_HEX_LEN 65    /* 64 hex digits and a NUL */

/* .NET's X509NameType, same numeric values. */
enum cg_x509_name_type {
	CG_X509_NAME_SIMPLE = 0,
	CG_X509_NAME_EMAIL = 1,
	CG_X509_NAME_UPN = 2,
	CG_X509_NAME_DNS = 3,
	CG_X509_NAME_DNS_FROM_ALT = 4, /* DnsFromAlternativeName */
	CG_X509_NAME_URL = 5,
};
#define CG_X509_NAME_TYPES 6

enum cg_x509_san_type {
	CG_X509_SAN_DNS,   /* dNSName, as encoded */
	CG_X509_SAN_IP,    /* iPAddress, as text: "192.0.2.1", "2001:db8::1" */
	CG_X509_SAN_EMAIL, /* rfc822Name */
	CG_X509_SAN_URI,   /* uniformResourceIdentifier */
	CG_X509_SAN_UPN,   /* otherName 1.3.6.1.4.1.311.20.2.3 (Microsoft UPN) */
};

struct cg_x509_san {
	enum cg_x509_san_type type;
	struct cg_str value; /* UTF-8 */
};

/* A .NET Oid: Value is the dotted form; FriendlyName is Windows' name
 * ("sha256RSA") or absent (friendly_name.ptr == NULL = .NET null). */
struct cg_x509_oid {
	struct cg_str value;
	struct cg_str friendly_name;
};

/* The parsed, immutable view. Built by cg_x509_view_new and friends. */
struct cg_x509 {
	X509 *x509;                 /* one reference, dropped by an arena cleanup */
	struct cg_str raw;          /* RawData: the DER, in the arena */
	char thumbprint[CG_X509_SHA1_HEX_LEN];  /* uppercase SHA-1 of the DER */
	char sha256[CG_X509_SHA256_HEX_LEN];    /* uppercase SHA-256 of the DER */
	struct cg_str subject;      /* Subject == SubjectName.Name, .NET X500 form */
	struct cg_str issuer;       /* Issuer == IssuerName.Name */
	struct cg_str serial;       /* SerialNumber: uppercase hex of the DER INTEGER content */
	int64_t not_before;         /* UTC, seconds since 1970-01-01 */
	int64_t not_after;
	int64_t not_before_ticks;   /* .NET ticks (100 ns since 0001-01-01), UTC */
	int64_t not_after_ticks;
	int version;                /* Version: 1, 2 or 3 */
	struct cg_x509_oid signature_algorithm;
	const struct cg_x509_san *sans; /* subjectAltName, in certificate order */
	size_t num_sans;
	bool sans_truncated;        /* more than CG_X509_MAX_SANS entries existed */
	const struct cg_x509_san *issuer_alt_names; /* issuerAltName (GetNameInfo forIssuer) */
	size_t num_issuer_alt_names;
	/* GetNameInfo(type, forIssuer): name_info[forIssuer][type]; "" when none. */
	struct cg_str name_info[2][CG_X509_NAME_TYPES];
	struct cg_str friendly_name; /* FriendlyName: always "" */
	bool has_private_key;        /* HasPrivateKey: always false */
	struct cg_str text;          /* ToString() */
	struct cg_str common_name;   /* the most specific CN, decoded; "" if none */
	bool has_common_name;
};

/* A distinguished name parsed from user text (cg_dn_parse). */
struct cg_dn_ava {
	int nid;             /* OpenSSL NID, or NID_undef for an OID OpenSSL lacks */
	struct cg_str oid;   /* dotted form, always set */
	struct cg_str value; /* unquoted UTF-8 value */
};

struct cg_dn_rdn {
	struct cg_dn_ava *avas; /* 1..CG_X509_MAX_RDN_VALUES, as written */
	size_t num_avas;
};

struct cg_dn {
	struct cg_dn_rdn *rdns; /* 1..CG_X509_MAX_RDNS, in the order written */
	size_t num_rdns;
};

#endif

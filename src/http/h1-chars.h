/* Character classes shared by the HTTP/1.1 parsers (internal to src/http/).
 * One 256-entry table of bit flags, so every byte test on the hot path is a
 * single load and mask: no ctype.h (locale-dependent), no calls. */
#ifndef CG_HTTP_H1_CHARS_H
#define CG_HTTP_H1_CHARS_H

#include <stdint.h>

enum {
	CG_H1C_TCHAR = 1,  /* RFC 9110 tchar: header names, methods, tokens */
	CG_H1C_VALUE = 2,  /* field value bytes: VCHAR, obs-text, SP, HTAB */
	CG_H1C_TARGET = 4, /* request-target bytes: visible ASCII 0x21-0x7E */
	CG_H1C_HEX = 8,    /* HEXDIG */
	CG_H1C_HOST = 16,  /* RFC 3986 reg-name bytes: unreserved, '%', sub-delims */
};

extern const uint8_t cg_h1_char_class[256];

#define CG_H1C(c, flag) (cg_h1_char_class[(unsigned char)(c)] & (flag))

#endif

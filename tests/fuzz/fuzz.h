/* SPDX-License-Identifier: MIT */
/* fuzz.h: what every fuzz target defines and may use (tests/fuzz/README). */
#ifndef KA_FUZZ_H
#define KA_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The target: one input, any bytes. Returns 0; a finding aborts (a
 * sanitizer report, or fuzz_assert below). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input as a NUL-terminated malloc'd string (NULL when it holds a NUL
 * byte, which the text parsers never see: their callers stop there). */
char *fuzz_string(const uint8_t *data, size_t size);

/* A broken promise of the code under test is a finding. */
#define fuzz_assert(cond) \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))
void fuzz_fail(const char *file, int line, const char *what)
	__attribute__((noreturn));

#endif

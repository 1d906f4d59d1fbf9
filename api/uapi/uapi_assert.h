/*
 * Compile-time layout pins shared by the RFC uAPI mirrors in api/uapi/.
 *
 * What it models: nothing of Linux; it is the tool that makes every mirrored
 * struct fail the build the moment its size, alignment or a field offset
 * drifts from the number read off the seed document. The numbers are written
 * as literals at each use (never computed from another struct), so a change
 * to one header cannot silently move its pin along with it.
 *
 * Works in C (gcc/clang, C11 or later: _Static_assert, _Alignof) and in C++
 * (static_assert, alignof), because the uAPI headers are included by C
 * clients (tests/preload) as well as by the C++ emulator.
 *
 * Invariants: the macros expand to file-scope declarations only; they
 * generate no code and no symbols. Thread safety: not applicable.
 */
#ifndef VFIOSIM_API_UAPI_UAPI_ASSERT_H_
#define VFIOSIM_API_UAPI_UAPI_ASSERT_H_

#include <stddef.h> /* offsetof */

#ifdef __cplusplus
#define VFIOSIM_UAPI_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#define VFIOSIM_UAPI_ALIGNOF(type) alignof(type)
#else
#define VFIOSIM_UAPI_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#define VFIOSIM_UAPI_ALIGNOF(type) _Alignof(type)
#endif

/* sizeof(type) == size and alignof(type) == align, both literals. */
#define VFIOSIM_UAPI_PIN_SIZE(type, size, align)                           \
  VFIOSIM_UAPI_STATIC_ASSERT(sizeof(type) == (size),                       \
                             "sizeof(" #type ") != " #size);               \
  VFIOSIM_UAPI_STATIC_ASSERT(VFIOSIM_UAPI_ALIGNOF(type) == (align),        \
                             "alignof(" #type ") != " #align)

/*
 * offsetof(type, member) == offset. `member` may be a path through an
 * anonymous union (e.g. alloc_pasid.result); gcc and clang accept that in
 * offsetof in both languages.
 */
#define VFIOSIM_UAPI_PIN_OFFSET(type, member, offset)                      \
  VFIOSIM_UAPI_STATIC_ASSERT(offsetof(type, member) == (offset),           \
                             "offsetof(" #type ", " #member ") != " #offset)

/* A #define or enumerator equals a literal (catches a collision re-valued). */
#define VFIOSIM_UAPI_PIN_VALUE(name, value)                                \
  VFIOSIM_UAPI_STATIC_ASSERT((name) == (value), #name " != " #value)

#endif /* VFIOSIM_API_UAPI_UAPI_ASSERT_H_ */

// Clang thread-safety annotations (checked with --config=clang, which adds
// -Wthread-safety); they expand to nothing under g++.
#ifndef VFIOSIM_CORE_THREAD_ANNOTATIONS_H_
#define VFIOSIM_CORE_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define VFIOSIM_TSA(x) __attribute__((x))
#else
#define VFIOSIM_TSA(x)
#endif

#define GUARDED_BY(x) VFIOSIM_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) VFIOSIM_TSA(pt_guarded_by(x))
#define REQUIRES(...) VFIOSIM_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) VFIOSIM_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRED_AFTER(...) VFIOSIM_TSA(acquired_after(__VA_ARGS__))
#define CAPABILITY(x) VFIOSIM_TSA(capability(x))
#define SCOPED_CAPABILITY VFIOSIM_TSA(scoped_lockable)
#define ACQUIRE(...) VFIOSIM_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) VFIOSIM_TSA(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS VFIOSIM_TSA(no_thread_safety_analysis)

#endif  // VFIOSIM_CORE_THREAD_ANNOTATIONS_H_

/*
 * A stand-in for libnvidia-ml.so.1 that serves device state from a text file,
 * for tests on machines without an NVIDIA GPU. It is compiled against NVIDIA's
 * own nvml.h (include/nvml.h, see include/SOURCES.md), so every struct layout
 * and every versioned symbol name (nvmlInit_v2, nvmlDeviceGetCount_v2, ...) is
 * the one the real library has: the header's `#define nvmlInit nvmlInit_v2`
 * renames the definitions below exactly as it renames a caller's calls.
 *
 * State file (path in $FAKE_NVML_STATE), one `key=value` per line, `#` starts a
 * comment line. Keys are named after the NVML function that serves them, with
 * the enum constant or struct member the value belongs to, e.g.
 *   nvmlDeviceGetCount=1
 *   device.0.nvmlDeviceGetPowerUsage=631950
 *   device.0.nvmlDeviceGetClockInfo.NVML_CLOCK_SM=1980
 *   device.0.nvmlDeviceGetMemoryInfo.used=20780679168
 *   device.0.mig.1.nvmlDeviceGetUUID=MIG-...
 * A value `!NAME` makes the function return NVML_ERROR_NAME; a key that is
 * absent makes it return NVML_ERROR_NOT_SUPPORTED. The file is re-read when it
 * changes (replace it by rename so a reader never sees half a file).
 * README.md next to this file lists every key, failure mode and source.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nvml.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_DEVICES 256
#define MAX_MIG 8
#define MAX_KEY 256

/* ---------------------------------------------------------------- state */

typedef struct {
    char *key;
    char *val;
    size_t order;
} kv_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static kv_t *kvs;
static size_t nkv;
static char *kvbuf;
static struct stat seen;
static int init_count;

struct nvmlDevice_st {
    unsigned index;
    int mig; /* -1: the physical GPU; otherwise the MIG device index */
};
static struct nvmlDevice_st gpus[MAX_DEVICES];
static struct nvmlDevice_st migs[MAX_DEVICES][MAX_MIG];

struct nvmlEventSet_st {
    unsigned long long types[MAX_DEVICES];
    long offset; /* bytes of the events file already delivered or skipped */
};

struct nvmlGpmSample_st {
    int taken;
    nvmlDevice_t device;
    unsigned gpuInstanceId;
    int mig;
    unsigned long long seq;
};
static unsigned long long gpm_seq;

static int kv_cmp(const void *a, const void *b) {
    const kv_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static const char *state_path(void) {
    const char *p = getenv("FAKE_NVML_STATE");
    return p && *p ? p : NULL;
}

/* Parses the whole file into a sorted table; on any error the old table stays. */
static int load_state(void) {
    const char *path = state_path();
    if (!path) return -1;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        fclose(f);
        return -1;
    }
    char *buf = malloc((size_t)sb.st_size + 1);
    size_t len = buf ? fread(buf, 1, (size_t)sb.st_size, f) : 0;
    fclose(f);
    if (!buf) return -1;
    buf[len] = 0;
    size_t cap = 16, n = 0;
    kv_t *t = malloc(cap * sizeof *t);
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[--l] = 0;
        if (!l || line[0] == '#') continue;
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        if (n == cap) t = realloc(t, (cap *= 2) * sizeof *t);
        t[n].key = line;
        t[n].val = eq + 1;
        t[n].order = n;
        n++;
    }
    qsort(t, n, sizeof *t, kv_cmp);
    /* A key given twice: the later line wins. */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && strcmp(t[w - 1].key, t[i].key) == 0) t[w - 1] = t[i];
        else t[w++] = t[i];
    }
    free(kvs);
    free(kvbuf);
    kvs = t;
    nkv = w;
    kvbuf = buf;
    seen = sb;
    return 0;
}

/*
 * $FAKE_NVML_RELOAD_MS: check the state file for changes at most this often
 * (default 0: on every call, so a test sees its change on the next call). The
 * benchmark sets it so that the fake's stat() calls stay out of the
 * exporter's measured CPU.
 */
static void maybe_reload(void) {
    static long interval_ms = -1;
    static struct timespec last;
    if (interval_ms < 0) {
        const char *e = getenv("FAKE_NVML_RELOAD_MS");
        interval_ms = e && *e ? strtol(e, NULL, 10) : 0;
        if (interval_ms < 0) interval_ms = 0;
    }
    if (interval_ms > 0 && kvs) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
        long elapsed = (now.tv_sec - last.tv_sec) * 1000L + (now.tv_nsec - last.tv_nsec) / 1000000L;
        if (elapsed < interval_ms) return;
        last = now;
    }
    const char *path = state_path();
    struct stat sb;
    if (!path || stat(path, &sb) != 0) return;
    if (kvs && sb.st_ino == seen.st_ino && sb.st_size == seen.st_size &&
        sb.st_mtim.tv_sec == seen.st_mtim.tv_sec && sb.st_mtim.tv_nsec == seen.st_mtim.tv_nsec)
        return;
    load_state();
}

static const char *lookup(const char *key) {
    size_t lo = 0, hi = nkv;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(kvs[mid].key, key);
        if (c == 0) return kvs[mid].val;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static const char *lookupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *lookupf(const char *fmt, ...) {
    char key[MAX_KEY];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof key) return NULL;
    return lookup(key);
}

/* ---------------------------------------------------------------- errors */

typedef struct {
    const char *name;
    nvmlReturn_t code;
    const char *text;
} err_t;

/* Texts as nvmlErrorString gives them; nvidia-smi prints them in brackets. */
static const err_t errors[] = {
    {"SUCCESS", NVML_SUCCESS, "Success"},
    {"UNINITIALIZED", NVML_ERROR_UNINITIALIZED, "Uninitialized"},
    {"INVALID_ARGUMENT", NVML_ERROR_INVALID_ARGUMENT, "Invalid Argument"},
    {"NOT_SUPPORTED", NVML_ERROR_NOT_SUPPORTED, "Not Supported"},
    {"NO_PERMISSION", NVML_ERROR_NO_PERMISSION, "Insufficient Permissions"},
    {"ALREADY_INITIALIZED", NVML_ERROR_ALREADY_INITIALIZED, "Already Initialized"},
    {"NOT_FOUND", NVML_ERROR_NOT_FOUND, "Not Found"},
    {"INSUFFICIENT_SIZE", NVML_ERROR_INSUFFICIENT_SIZE, "Insufficient Size"},
    {"INSUFFICIENT_POWER", NVML_ERROR_INSUFFICIENT_POWER, "Insufficient External Power"},
    {"DRIVER_NOT_LOADED", NVML_ERROR_DRIVER_NOT_LOADED, "Driver Not Loaded"},
    {"TIMEOUT", NVML_ERROR_TIMEOUT, "Timeout"},
    {"IRQ_ISSUE", NVML_ERROR_IRQ_ISSUE, "Interrupt request issue"},
    {"LIBRARY_NOT_FOUND", NVML_ERROR_LIBRARY_NOT_FOUND, "NVML Shared Library Not Found"},
    {"FUNCTION_NOT_FOUND", NVML_ERROR_FUNCTION_NOT_FOUND, "Function Not Found"},
    {"CORRUPTED_INFOROM", NVML_ERROR_CORRUPTED_INFOROM, "Corrupted infoROM"},
    {"GPU_IS_LOST", NVML_ERROR_GPU_IS_LOST, "GPU is lost"},
    {"RESET_REQUIRED", NVML_ERROR_RESET_REQUIRED, "GPU requires restart"},
    {"OPERATING_SYSTEM", NVML_ERROR_OPERATING_SYSTEM, "The operating system has blocked the request."},
    {"LIB_RM_VERSION_MISMATCH", NVML_ERROR_LIB_RM_VERSION_MISMATCH, "RM has detected an NVML/RM version mismatch."},
    {"IN_USE", NVML_ERROR_IN_USE, "In use by another client"},
    {"MEMORY", NVML_ERROR_MEMORY, "Insufficient Memory"},
    {"NO_DATA", NVML_ERROR_NO_DATA, "No data"},
    {"VGPU_ECC_NOT_SUPPORTED", NVML_ERROR_VGPU_ECC_NOT_SUPPORTED, "The requested vgpu operation is not available on target device, becasue ECC is enabled"},
    {"INSUFFICIENT_RESOURCES", NVML_ERROR_INSUFFICIENT_RESOURCES, "Ran out of critical resources, other than memory"},
    {"FREQ_NOT_SUPPORTED", NVML_ERROR_FREQ_NOT_SUPPORTED, "Ran out of critical resources, other than memory"},
    {"ARGUMENT_VERSION_MISMATCH", NVML_ERROR_ARGUMENT_VERSION_MISMATCH, "Version mismatch"},
    {"DEPRECATED", NVML_ERROR_DEPRECATED, "Requested functionality has been deprecated"},
    {"NOT_READY", NVML_ERROR_NOT_READY, "System not ready"},
    {"GPU_NOT_FOUND", NVML_ERROR_GPU_NOT_FOUND, "No GPUs were found"},
    {"INVALID_STATE", NVML_ERROR_INVALID_STATE, "Invalid state"},
    {"RESET_TYPE_NOT_SUPPORTED", NVML_ERROR_RESET_TYPE_NOT_SUPPORTED, "Reset type not supported"},
    {"UNKNOWN", NVML_ERROR_UNKNOWN, "Unknown Error"},
};

/* `!NAME`, `!NVML_ERROR_NAME` or `!<number>` to a return code. */
static nvmlReturn_t parse_error(const char *v) {
    v++;
    if (strncmp(v, "NVML_ERROR_", 11) == 0) v += 11;
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++)
        if (strcmp(errors[i].name, v) == 0) return errors[i].code;
    char *end;
    long n = strtol(v, &end, 0);
    return end != v && !*end ? (nvmlReturn_t)n : NVML_ERROR_UNKNOWN;
}

EXPORT const char *nvmlErrorString(nvmlReturn_t result) {
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++)
        if (errors[i].code == result) return errors[i].text;
    return "Unknown Error";
}

/* ---------------------------------------------------------------- enum names */

typedef struct {
    const char *name;
    int value;
} name_t;
#define N(x) {#x, (int)(x)}

static const name_t clock_types[] = {N(NVML_CLOCK_GRAPHICS), N(NVML_CLOCK_SM), N(NVML_CLOCK_MEM), N(NVML_CLOCK_VIDEO), {0, 0}};
static const name_t clock_ids[] = {N(NVML_CLOCK_ID_CURRENT), N(NVML_CLOCK_ID_APP_CLOCK_TARGET),
                                   N(NVML_CLOCK_ID_APP_CLOCK_DEFAULT), N(NVML_CLOCK_ID_CUSTOMER_BOOST_MAX), {0, 0}};
static const name_t temp_sensors[] = {N(NVML_TEMPERATURE_GPU), {0, 0}};
static const name_t temp_thresholds[] = {
    N(NVML_TEMPERATURE_THRESHOLD_SHUTDOWN), N(NVML_TEMPERATURE_THRESHOLD_SLOWDOWN), N(NVML_TEMPERATURE_THRESHOLD_MEM_MAX),
    N(NVML_TEMPERATURE_THRESHOLD_GPU_MAX), N(NVML_TEMPERATURE_THRESHOLD_ACOUSTIC_MIN), N(NVML_TEMPERATURE_THRESHOLD_ACOUSTIC_CURR),
    N(NVML_TEMPERATURE_THRESHOLD_ACOUSTIC_MAX), N(NVML_TEMPERATURE_THRESHOLD_GPS_CURR), {0, 0}};
static const name_t perf_policies[] = {
    N(NVML_PERF_POLICY_POWER), N(NVML_PERF_POLICY_THERMAL), N(NVML_PERF_POLICY_SYNC_BOOST), N(NVML_PERF_POLICY_BOARD_LIMIT),
    N(NVML_PERF_POLICY_LOW_UTILIZATION), N(NVML_PERF_POLICY_RELIABILITY), N(NVML_PERF_POLICY_TOTAL_APP_CLOCKS),
    N(NVML_PERF_POLICY_TOTAL_BASE_CLOCKS), {0, 0}};
static const name_t mem_error_types[] = {N(NVML_MEMORY_ERROR_TYPE_CORRECTED), N(NVML_MEMORY_ERROR_TYPE_UNCORRECTED), {0, 0}};
static const name_t ecc_counters[] = {N(NVML_VOLATILE_ECC), N(NVML_AGGREGATE_ECC), {0, 0}};
static const name_t mem_locations[] = {
    N(NVML_MEMORY_LOCATION_L1_CACHE), N(NVML_MEMORY_LOCATION_L2_CACHE), N(NVML_MEMORY_LOCATION_DRAM),
    N(NVML_MEMORY_LOCATION_DEVICE_MEMORY), N(NVML_MEMORY_LOCATION_REGISTER_FILE), N(NVML_MEMORY_LOCATION_TEXTURE_MEMORY),
    N(NVML_MEMORY_LOCATION_TEXTURE_SHM), N(NVML_MEMORY_LOCATION_CBU), N(NVML_MEMORY_LOCATION_SRAM), {0, 0}};
static const name_t pcie_counters[] = {N(NVML_PCIE_UTIL_TX_BYTES), N(NVML_PCIE_UTIL_RX_BYTES), {0, 0}};
static const name_t retire_causes[] = {N(NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS),
                                       N(NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR), {0, 0}};
static const name_t inforom_objects[] = {N(NVML_INFOROM_OEM), N(NVML_INFOROM_ECC), N(NVML_INFOROM_POWER), N(NVML_INFOROM_DEN), {0, 0}};
static const name_t nvlink_counters[] = {
    N(NVML_NVLINK_ERROR_DL_REPLAY), N(NVML_NVLINK_ERROR_DL_RECOVERY), N(NVML_NVLINK_ERROR_DL_CRC_FLIT),
    N(NVML_NVLINK_ERROR_DL_CRC_DATA), N(NVML_NVLINK_ERROR_DL_ECC_DATA), {0, 0}};

static const char *enum_name(const name_t *t, int v) {
    for (; t->name; t++)
        if (t->value == v) return t->name;
    return NULL;
}

/* ---------------------------------------------------------------- calls */

typedef struct {
    const char *fn;      /* the key name: the function without ABI version suffix */
    char prefix[64];     /* "device.3." or "device.3.mig.1." or "" */
    int dev;             /* physical index, -1 for system calls */
    int locked;
} ctx_t;

static int valid_handle(nvmlDevice_t d) {
    if (!d) return 0;
    if (d >= &gpus[0] && d < &gpus[MAX_DEVICES]) return 1;
    if (d >= &migs[0][0] && d < &migs[MAX_DEVICES - 1][MAX_MIG]) return 1;
    return 0;
}

static unsigned device_count(void) {
    const char *v = lookup("nvmlDeviceGetCount");
    unsigned long n = v && *v != '!' ? strtoul(v, NULL, 0) : 0;
    return n > MAX_DEVICES ? MAX_DEVICES : (unsigned)n;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/*
 * `hang.<fn>` (every device) or `device.N.hang.<fn>`: `forever`,
 * `seconds:<n>`, or `while:<path>` (until that file is removed). The state
 * lock is released while hanging so other threads' calls proceed, as they do
 * in the real library when one call is stuck in the driver.
 */
static void maybe_hang(ctx_t *c) {
    const char *spec = c->dev >= 0 ? lookupf("device.%d.hang.%s", c->dev, c->fn) : NULL;
    if (!spec) spec = lookupf("hang.%s", c->fn);
    if (!spec) return;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", spec);
    pthread_mutex_unlock(&mu);
    if (strcmp(copy, "forever") == 0) {
        for (;;) sleep_ms(1000);
    } else if (strncmp(copy, "seconds:", 8) == 0) {
        sleep_ms((long)(strtod(copy + 8, NULL) * 1000));
    } else if (strncmp(copy, "while:", 6) == 0) {
        struct stat sb;
        while (stat(copy + 6, &sb) == 0) sleep_ms(10);
    }
    pthread_mutex_lock(&mu);
    maybe_reload();
}

/*
 * $FAKE_NVML_CALLS names a file that gets one line per call, `<function>`,
 * appended before the call does anything: tests count calls (none on the
 * scrape path, none after shutdown) without timing anything.
 */
static void log_call(const char *fn) {
    static int fd = -2;
    if (fd == -2) {
        const char *path = getenv("FAKE_NVML_CALLS");
        fd = path && *path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
    }
    if (fd < 0) return;
    char line[128];
    int n = snprintf(line, sizeof line, "%s\n", fn);
    if (n > 0 && (size_t)n < sizeof line && write(fd, line, (size_t)n) < 0) {
        /* a test that cannot log its calls sees them missing; nothing else to do here */
    }
}

static nvmlReturn_t begin(ctx_t *c, const char *fn, int device_call) {
    c->fn = fn;
    c->prefix[0] = 0;
    c->dev = -1;
    pthread_mutex_lock(&mu);
    c->locked = 1;
    log_call(fn);
    if (!init_count) return NVML_ERROR_UNINITIALIZED;
    maybe_reload();
    if (!device_call) maybe_hang(c); /* a device call hangs once, in begin_dev, where the device is known */
    const char *v = lookup(fn);
    if (v && *v == '!') return parse_error(v);
    return NVML_SUCCESS;
}

static nvmlReturn_t begin_sys(ctx_t *c, const char *fn) { return begin(c, fn, 0); }

/* Common entry of every per-device call: init, reload, hang, lost, overrides. */
static nvmlReturn_t begin_dev(ctx_t *c, const char *fn, nvmlDevice_t d) {
    nvmlReturn_t r = begin(c, fn, 1);
    if (r != NVML_SUCCESS) return r;
    if (!valid_handle(d)) return NVML_ERROR_INVALID_ARGUMENT;
    c->dev = (int)d->index;
    if (d->index >= device_count()) return NVML_ERROR_INVALID_ARGUMENT;
    if (d->mig >= 0) snprintf(c->prefix, sizeof c->prefix, "device.%u.mig.%d.", d->index, d->mig);
    else snprintf(c->prefix, sizeof c->prefix, "device.%u.", d->index);
    maybe_hang(c);
    const char *v = lookupf("device.%u.every_call", d->index);
    if (v && *v == '!') return parse_error(v);
    if (d->mig >= 0 && !lookupf("%snvmlDeviceGetUUID", c->prefix)) return NVML_ERROR_INVALID_ARGUMENT;
    v = lookupf("%s%s", c->prefix, fn);
    if (v && *v == '!') return parse_error(v);
    return NVML_SUCCESS;
}

static nvmlReturn_t end(ctx_t *c, nvmlReturn_t r) {
    if (c->locked) pthread_mutex_unlock(&mu);
    c->locked = 0;
    return r;
}

/* The value of `<prefix><fn><suffix>`, or NULL and an error in *r. */
static const char *val(ctx_t *c, nvmlReturn_t *r, const char *suffix_fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *val(ctx_t *c, nvmlReturn_t *r, const char *suffix_fmt, ...) {
    char suffix[MAX_KEY];
    va_list ap;
    va_start(ap, suffix_fmt);
    vsnprintf(suffix, sizeof suffix, suffix_fmt, ap);
    va_end(ap);
    const char *v = lookupf("%s%s%s", c->prefix, c->fn, suffix);
    if (!v) {
        *r = NVML_ERROR_NOT_SUPPORTED;
        return NULL;
    }
    if (*v == '!') {
        *r = parse_error(v);
        return NULL;
    }
    *r = NVML_SUCCESS;
    return v;
}

#define GET_ULL(c, out, ...)                                   \
    do {                                                       \
        nvmlReturn_t _r;                                       \
        const char *_v = val(c, &_r, __VA_ARGS__);             \
        if (!_v) return end(c, _r);                            \
        *(out) = strtoull(_v, NULL, 0);               \
    } while (0)
#define GET_UINT(c, out, ...)                                  \
    do {                                                       \
        nvmlReturn_t _r;                                       \
        const char *_v = val(c, &_r, __VA_ARGS__);             \
        if (!_v) return end(c, _r);                            \
        *(out) = (unsigned)strtoul(_v, NULL, 0);      \
    } while (0)
#define GET_INT(c, out, ...)                                   \
    do {                                                       \
        nvmlReturn_t _r;                                       \
        const char *_v = val(c, &_r, __VA_ARGS__);             \
        if (!_v) return end(c, _r);                            \
        *(out) = (int)strtol(_v, NULL, 0);            \
    } while (0)
#define GET_STR(c, buf, len, ...)                                                  \
    do {                                                                           \
        nvmlReturn_t _r;                                                           \
        const char *_v = val(c, &_r, __VA_ARGS__);                                 \
        if (!_v) return end(c, _r);                                                \
        if (!(buf)) return end(c, NVML_ERROR_INVALID_ARGUMENT);                    \
        if (strlen(_v) + 1 > (len)) return end(c, NVML_ERROR_INSUFFICIENT_SIZE);   \
        memcpy(buf, _v, strlen(_v) + 1);                                           \
    } while (0)

#define BEGIN_DEV(fn, d)                                 \
    ctx_t c_ = {0};                                      \
    ctx_t *c = &c_;                                      \
    {                                                    \
        nvmlReturn_t r0 = begin_dev(c, fn, d);           \
        if (r0 != NVML_SUCCESS) return end(c, r0);       \
    }
#define BEGIN_SYS(fn)                                    \
    ctx_t c_ = {0};                                      \
    ctx_t *c = &c_;                                      \
    {                                                    \
        nvmlReturn_t r0 = begin_sys(c, fn);              \
        if (r0 != NVML_SUCCESS) return end(c, r0);       \
    }
#define NEED(p)                                          \
    if (!(p)) return end(c, NVML_ERROR_INVALID_ARGUMENT)

/* Device getters that return one unsigned int from `<fn>`. */
#define UINT_GETTER(fn, type)                            \
    EXPORT nvmlReturn_t fn(nvmlDevice_t d, type *out) {  \
        BEGIN_DEV(#fn, d);                               \
        NEED(out);                                       \
        unsigned v;                                      \
        GET_UINT(c, &v, "%s", "");                       \
        *out = (type)v;                                  \
        return end(c, NVML_SUCCESS);                     \
    }

static unsigned long long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
}

/* ---------------------------------------------------------------- init and system */

static nvmlReturn_t do_init(void) {
    pthread_mutex_lock(&mu);
    log_call("nvmlInit");
    if (!kvs && load_state() != 0) {
        fprintf(stderr, "fake-nvml: cannot read the state file named by FAKE_NVML_STATE (%s)\n",
                state_path() ? state_path() : "unset");
        pthread_mutex_unlock(&mu);
        return NVML_ERROR_UNKNOWN;
    }
    maybe_reload();
    for (unsigned i = 0; i < MAX_DEVICES; i++) {
        gpus[i].index = i;
        gpus[i].mig = -1;
        for (int m = 0; m < MAX_MIG; m++) {
            migs[i][m].index = i;
            migs[i][m].mig = m;
        }
    }
    const char *v = lookup("nvmlInit");
    nvmlReturn_t r = v && *v == '!' ? parse_error(v) : NVML_SUCCESS;
    ctx_t c = {.fn = "nvmlInit", .dev = -1, .locked = 1};
    maybe_hang(&c);
    if (r == NVML_SUCCESS) init_count++;
    pthread_mutex_unlock(&mu);
    return r;
}

EXPORT nvmlReturn_t nvmlInit(void) { return do_init(); }
EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    return do_init();
}

EXPORT nvmlReturn_t nvmlShutdown(void) {
    pthread_mutex_lock(&mu);
    log_call("nvmlShutdown");
    nvmlReturn_t r = init_count ? NVML_SUCCESS : NVML_ERROR_UNINITIALIZED;
    if (init_count) init_count--;
    pthread_mutex_unlock(&mu);
    return r;
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    BEGIN_SYS("nvmlSystemGetDriverVersion");
    GET_STR(c, version, length, "%s", "");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length) {
    BEGIN_SYS("nvmlSystemGetNVMLVersion");
    GET_STR(c, version, length, "%s", "");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *v) {
    BEGIN_SYS("nvmlSystemGetCudaDriverVersion");
    NEED(v);
    GET_INT(c, v, "%s", "");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *v) {
    BEGIN_SYS("nvmlSystemGetCudaDriverVersion");
    NEED(v);
    GET_INT(c, v, "%s", "");
    return end(c, NVML_SUCCESS);
}

/* `nvmlSystemGetProcessName.<pid>`; a pid the state does not name is NOT_FOUND, as for a process that has exited. */
EXPORT nvmlReturn_t nvmlSystemGetProcessName(unsigned int pid, char *name, unsigned int length) {
    BEGIN_SYS("nvmlSystemGetProcessName");
    const char *v = lookupf("nvmlSystemGetProcessName.%u", pid);
    if (!v) return end(c, NVML_ERROR_NOT_FOUND);
    GET_STR(c, name, length, ".%u", pid);
    return end(c, NVML_SUCCESS);
}

/* ---------------------------------------------------------------- handles */

EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) {
    BEGIN_SYS("nvmlDeviceGetCount");
    NEED(count);
    *count = device_count();
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device) {
    ctx_t c_ = {0};
    ctx_t *c = &c_;
    nvmlReturn_t r = index < MAX_DEVICES ? begin_dev(c, "nvmlDeviceGetHandleByIndex", &gpus[index])
                                         : begin_sys(c, "nvmlDeviceGetHandleByIndex");
    if (r == NVML_SUCCESS && (index >= MAX_DEVICES || !device)) r = NVML_ERROR_INVALID_ARGUMENT;
    if (r == NVML_SUCCESS) *device = &gpus[index];
    return end(c, r);
}

/* Finds a device or MIG device whose `<fn>` key equals want. */
static nvmlReturn_t find_by(const char *fn, const char *want, nvmlDevice_t *device) {
    ctx_t c_ = {0};
    ctx_t *c = &c_;
    nvmlReturn_t r = begin_sys(c, fn);
    if (r != NVML_SUCCESS) return end(c, r);
    if (!want || !device) return end(c, NVML_ERROR_INVALID_ARGUMENT);
    unsigned n = device_count();
    const char *key = strcmp(fn, "nvmlDeviceGetHandleByUUID") == 0 ? "nvmlDeviceGetUUID" : "nvmlDeviceGetPciInfo.busId";
    for (unsigned i = 0; i < n; i++) {
        const char *v = lookupf("device.%u.%s", i, key);
        if (v && strcasecmp(v, want) == 0) {
            const char *lost = lookupf("device.%u.every_call", i);
            if (lost && *lost == '!') return end(c, parse_error(lost));
            *device = &gpus[i];
            return end(c, NVML_SUCCESS);
        }
        for (int m = 0; m < MAX_MIG; m++) {
            v = lookupf("device.%u.mig.%d.%s", i, m, key);
            if (v && strcasecmp(v, want) == 0) {
                *device = &migs[i][m];
                return end(c, NVML_SUCCESS);
            }
        }
    }
    return end(c, NVML_ERROR_NOT_FOUND);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device) {
    return find_by("nvmlDeviceGetHandleByUUID", uuid, device);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char *pciBusId, nvmlDevice_t *device) {
    return find_by("nvmlDeviceGetHandleByPciBusId", pciBusId, device);
}

EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t d, unsigned int *index) {
    BEGIN_DEV("nvmlDeviceGetIndex", d);
    NEED(index);
    if (d->mig >= 0) return end(c, NVML_ERROR_NOT_SUPPORTED);
    *index = d->index;
    return end(c, NVML_SUCCESS);
}

/* ---------------------------------------------------------------- identity */

#define STR_GETTER(fn)                                                       \
    EXPORT nvmlReturn_t fn(nvmlDevice_t d, char *buf, unsigned int length) { \
        BEGIN_DEV(#fn, d);                                                   \
        GET_STR(c, buf, length, "%s", "");                                   \
        return end(c, NVML_SUCCESS);                                         \
    }

STR_GETTER(nvmlDeviceGetName)
STR_GETTER(nvmlDeviceGetUUID)
STR_GETTER(nvmlDeviceGetSerial)
STR_GETTER(nvmlDeviceGetVbiosVersion)
STR_GETTER(nvmlDeviceGetBoardPartNumber)
STR_GETTER(nvmlDeviceGetInforomImageVersion)

EXPORT nvmlReturn_t nvmlDeviceGetInforomVersion(nvmlDevice_t d, nvmlInforomObject_t object, char *version, unsigned int length) {
    BEGIN_DEV("nvmlDeviceGetInforomVersion", d);
    const char *name = enum_name(inforom_objects, object);
    NEED(name);
    GET_STR(c, version, length, ".%s", name);
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t d, nvmlPciInfo_t *pci) {
    BEGIN_DEV("nvmlDeviceGetPciInfo", d);
    NEED(pci);
    nvmlPciInfo_t p;
    memset(&p, 0, sizeof p);
    GET_STR(c, p.busId, sizeof p.busId, ".busId");
    GET_STR(c, p.busIdLegacy, sizeof p.busIdLegacy, ".busIdLegacy");
    GET_UINT(c, &p.domain, ".domain");
    GET_UINT(c, &p.bus, ".bus");
    GET_UINT(c, &p.device, ".device");
    GET_UINT(c, &p.pciDeviceId, ".pciDeviceId");
    GET_UINT(c, &p.pciSubSystemId, ".pciSubSystemId");
    *pci = p;
    return end(c, NVML_SUCCESS);
}

UINT_GETTER(nvmlDeviceGetMinorNumber, unsigned int)
UINT_GETTER(nvmlDeviceGetBrand, nvmlBrandType_t)
UINT_GETTER(nvmlDeviceGetArchitecture, nvmlDeviceArchitecture_t)
UINT_GETTER(nvmlDeviceGetPersistenceMode, nvmlEnableState_t)
UINT_GETTER(nvmlDeviceGetComputeMode, nvmlComputeMode_t)
UINT_GETTER(nvmlDeviceGetDisplayMode, nvmlEnableState_t)
UINT_GETTER(nvmlDeviceGetDisplayActive, nvmlEnableState_t)
UINT_GETTER(nvmlDeviceGetAccountingMode, nvmlEnableState_t)
UINT_GETTER(nvmlDeviceGetAccountingBufferSize, unsigned int)
UINT_GETTER(nvmlDeviceGetPerformanceState, nvmlPstates_t)
UINT_GETTER(nvmlDeviceGetPowerUsage, unsigned int)
UINT_GETTER(nvmlDeviceGetPowerManagementLimit, unsigned int)
UINT_GETTER(nvmlDeviceGetEnforcedPowerLimit, unsigned int)
UINT_GETTER(nvmlDeviceGetPowerManagementDefaultLimit, unsigned int)
UINT_GETTER(nvmlDeviceGetCurrPcieLinkGeneration, unsigned int)
UINT_GETTER(nvmlDeviceGetCurrPcieLinkWidth, unsigned int)
UINT_GETTER(nvmlDeviceGetMaxPcieLinkGeneration, unsigned int)
UINT_GETTER(nvmlDeviceGetMaxPcieLinkWidth, unsigned int)
UINT_GETTER(nvmlDeviceGetGpuMaxPcieLinkGeneration, unsigned int)
UINT_GETTER(nvmlDeviceGetPcieReplayCounter, unsigned int)
UINT_GETTER(nvmlDeviceGetFanSpeed, unsigned int)
UINT_GETTER(nvmlDeviceGetNumFans, unsigned int)
UINT_GETTER(nvmlDeviceGetMaxMigDeviceCount, unsigned int)
UINT_GETTER(nvmlDeviceGetRetiredPagesPendingStatus, nvmlEnableState_t)

EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t d, int *major, int *minor) {
    BEGIN_DEV("nvmlDeviceGetCudaComputeCapability", d);
    NEED(major && minor);
    GET_INT(c, major, ".major");
    GET_INT(c, minor, ".minor");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerManagementLimitConstraints(nvmlDevice_t d, unsigned int *minLimit, unsigned int *maxLimit) {
    BEGIN_DEV("nvmlDeviceGetPowerManagementLimitConstraints", d);
    NEED(minLimit && maxLimit);
    GET_UINT(c, minLimit, ".minLimit");
    GET_UINT(c, maxLimit, ".maxLimit");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *energy) {
    BEGIN_DEV("nvmlDeviceGetTotalEnergyConsumption", d);
    NEED(energy);
    GET_ULL(c, energy, "%s", "");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t d, nvmlEnableState_t *current, nvmlEnableState_t *pending) {
    BEGIN_DEV("nvmlDeviceGetEccMode", d);
    NEED(current && pending);
    unsigned a, b;
    GET_UINT(c, &a, ".current");
    GET_UINT(c, &b, ".pending");
    *current = (nvmlEnableState_t)a;
    *pending = (nvmlEnableState_t)b;
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned int *currentMode, unsigned int *pendingMode) {
    BEGIN_DEV("nvmlDeviceGetMigMode", d);
    NEED(currentMode && pendingMode);
    GET_UINT(c, currentMode, ".current");
    GET_UINT(c, pendingMode, ".pending");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetGspFirmwareMode(nvmlDevice_t d, unsigned int *isEnabled, unsigned int *defaultMode) {
    BEGIN_DEV("nvmlDeviceGetGspFirmwareMode", d);
    NEED(isEnabled && defaultMode);
    GET_UINT(c, isEnabled, ".isEnabled");
    GET_UINT(c, defaultMode, ".defaultMode");
    return end(c, NVML_SUCCESS);
}

/* ---------------------------------------------------------------- memory and utilisation */

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
    BEGIN_DEV("nvmlDeviceGetMemoryInfo", d);
    NEED(m);
    nvmlMemory_t o;
    GET_ULL(c, &o.total, ".total");
    GET_ULL(c, &o.free, ".free");
    GET_ULL(c, &o.used, ".used");
    /* v1 counts the reserved memory as used (header: "Sum of Reserved and Allocated"); v1 has no reserved of its own, so a state without one still answers. */
    const char *reserved = lookupf("%snvmlDeviceGetMemoryInfo.reserved", c->prefix);
    if (reserved && *reserved != '!') o.used += strtoull(reserved, NULL, 0);
    *m = o;
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t *m) {
    BEGIN_DEV("nvmlDeviceGetMemoryInfo", d);
    NEED(m);
    if (m->version != nvmlMemory_v2) return end(c, NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    nvmlMemory_v2_t o = {.version = m->version};
    GET_ULL(c, &o.total, ".total");
    GET_ULL(c, &o.reserved, ".reserved");
    GET_ULL(c, &o.free, ".free");
    GET_ULL(c, &o.used, ".used");
    *m = o;
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
    BEGIN_DEV("nvmlDeviceGetUtilizationRates", d);
    NEED(u);
    nvmlUtilization_t o;
    GET_UINT(c, &o.gpu, ".gpu");
    GET_UINT(c, &o.memory, ".memory");
    *u = o;
    return end(c, NVML_SUCCESS);
}

#define ENGINE_UTIL(fn)                                                                              \
    EXPORT nvmlReturn_t fn(nvmlDevice_t d, unsigned int *utilization, unsigned int *samplingPeriodUs) { \
        BEGIN_DEV(#fn, d);                                                                           \
        NEED(utilization && samplingPeriodUs);                                                       \
        GET_UINT(c, utilization, ".utilization");                                                    \
        GET_UINT(c, samplingPeriodUs, ".samplingPeriodUs");                                          \
        return end(c, NVML_SUCCESS);                                                                 \
    }
ENGINE_UTIL(nvmlDeviceGetEncoderUtilization)
ENGINE_UTIL(nvmlDeviceGetDecoderUtilization)
ENGINE_UTIL(nvmlDeviceGetJpgUtilization)
ENGINE_UTIL(nvmlDeviceGetOfaUtilization)

EXPORT nvmlReturn_t nvmlDeviceGetEncoderStats(nvmlDevice_t d, unsigned int *sessionCount, unsigned int *averageFps,
                                             unsigned int *averageLatency) {
    BEGIN_DEV("nvmlDeviceGetEncoderStats", d);
    NEED(sessionCount && averageFps && averageLatency);
    GET_UINT(c, sessionCount, ".sessionCount");
    GET_UINT(c, averageFps, ".averageFps");
    GET_UINT(c, averageLatency, ".averageLatency");
    return end(c, NVML_SUCCESS);
}

/* ---------------------------------------------------------------- temperature, clocks, fans */

EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, nvmlTemperatureSensors_t sensor, unsigned int *temp) {
    BEGIN_DEV("nvmlDeviceGetTemperature", d);
    const char *name = enum_name(temp_sensors, sensor);
    NEED(name && temp);
    GET_UINT(c, temp, ".%s", name);
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetTemperatureV(nvmlDevice_t d, nvmlTemperature_t *t) {
    /* Same readings as nvmlDeviceGetTemperature: one state key per sensor. */
    BEGIN_DEV("nvmlDeviceGetTemperatureV", d);
    NEED(t);
    if (t->version != nvmlTemperature_v1) return end(c, NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    const char *name = enum_name(temp_sensors, t->sensorType);
    NEED(name);
    c->fn = "nvmlDeviceGetTemperature";
    GET_INT(c, &t->temperature, ".%s", name);
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetTemperatureThreshold(nvmlDevice_t d, nvmlTemperatureThresholds_t type, unsigned int *temp) {
    BEGIN_DEV("nvmlDeviceGetTemperatureThreshold", d);
    const char *name = enum_name(temp_thresholds, type);
    NEED(name && temp);
    GET_UINT(c, temp, ".%s", name);
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetMarginTemperature(nvmlDevice_t d, nvmlMarginTemperature_t *m) {
    BEGIN_DEV("nvmlDeviceGetMarginTemperature", d);
    NEED(m);
    if (m->version != nvmlMarginTemperature_v1) return end(c, NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    GET_INT(c, &m->marginTemperature, "%s", "");
    return end(c, NVML_SUCCESS);
}

#define CLOCK_GETTER(fn)                                                                 \
    EXPORT nvmlReturn_t fn(nvmlDevice_t d, nvmlClockType_t type, unsigned int *clock) { \
        BEGIN_DEV(#fn, d);                                                               \
        const char *name = enum_name(clock_types, type);                                 \
        NEED(name && clock);                                                             \
        GET_UINT(c, clock, ".%s", name);                                                 \
        return end(c, NVML_SUCCESS);                                                     \
    }
CLOCK_GETTER(nvmlDeviceGetClockInfo)
CLOCK_GETTER(nvmlDeviceGetMaxClockInfo)
CLOCK_GETTER(nvmlDeviceGetApplicationsClock)
CLOCK_GETTER(nvmlDeviceGetDefaultApplicationsClock)
CLOCK_GETTER(nvmlDeviceGetMaxCustomerBoostClock)

EXPORT nvmlReturn_t nvmlDeviceGetClock(nvmlDevice_t d, nvmlClockType_t type, nvmlClockId_t id, unsigned int *mhz) {
    BEGIN_DEV("nvmlDeviceGetClock", d);
    const char *tn = enum_name(clock_types, type), *in = enum_name(clock_ids, id);
    NEED(tn && in && mhz);
    GET_UINT(c, mhz, ".%s.%s", tn, in);
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetFanSpeed_v2(nvmlDevice_t d, unsigned int fan, unsigned int *speed) {
    BEGIN_DEV("nvmlDeviceGetFanSpeed_v2", d);
    NEED(speed);
    GET_UINT(c, speed, ".%u", fan);
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t d, unsigned long long *r) {
    BEGIN_DEV("nvmlDeviceGetCurrentClocksEventReasons", d);
    NEED(r);
    GET_ULL(c, r, "%s", "");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetSupportedClocksEventReasons(nvmlDevice_t d, unsigned long long *r) {
    BEGIN_DEV("nvmlDeviceGetSupportedClocksEventReasons", d);
    NEED(r);
    GET_ULL(c, r, "%s", "");
    return end(c, NVML_SUCCESS);
}

/* The pre-12.x names of the same two calls, still exported by the real library. */
EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t d, unsigned long long *r) {
    BEGIN_DEV("nvmlDeviceGetCurrentClocksEventReasons", d);
    NEED(r);
    GET_ULL(c, r, "%s", "");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetSupportedClocksThrottleReasons(nvmlDevice_t d, unsigned long long *r) {
    BEGIN_DEV("nvmlDeviceGetSupportedClocksEventReasons", d);
    NEED(r);
    GET_ULL(c, r, "%s", "");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetViolationStatus(nvmlDevice_t d, nvmlPerfPolicyType_t policy, nvmlViolationTime_t *t) {
    BEGIN_DEV("nvmlDeviceGetViolationStatus", d);
    const char *name = enum_name(perf_policies, policy);
    NEED(name && t);
    nvmlViolationTime_t o;
    GET_ULL(c, &o.violationTime, ".%s.violationTime", name);
    GET_ULL(c, &o.referenceTime, ".%s.referenceTime", name);
    *t = o;
    return end(c, NVML_SUCCESS);
}

/* ---------------------------------------------------------------- PCIe, ECC, pages, rows */

EXPORT nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t d, nvmlPcieUtilCounter_t counter, unsigned int *value) {
    BEGIN_DEV("nvmlDeviceGetPcieThroughput", d);
    const char *name = enum_name(pcie_counters, counter);
    NEED(name && value);
    GET_UINT(c, value, ".%s", name);
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t d, nvmlMemoryErrorType_t type, nvmlEccCounterType_t counter,
                                               unsigned long long *count) {
    BEGIN_DEV("nvmlDeviceGetTotalEccErrors", d);
    const char *tn = enum_name(mem_error_types, type), *cn = enum_name(ecc_counters, counter);
    NEED(tn && cn && count);
    GET_ULL(c, count, ".%s.%s", tn, cn);
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryErrorCounter(nvmlDevice_t d, nvmlMemoryErrorType_t type, nvmlEccCounterType_t counter,
                                                   nvmlMemoryLocation_t location, unsigned long long *count) {
    BEGIN_DEV("nvmlDeviceGetMemoryErrorCounter", d);
    const char *tn = enum_name(mem_error_types, type), *cn = enum_name(ecc_counters, counter),
               *ln = enum_name(mem_locations, location);
    NEED(tn && cn && ln && count);
    GET_ULL(c, count, ".%s.%s.%s", tn, cn, ln);
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t d, unsigned int *corrRows, unsigned int *uncRows,
                                             unsigned int *isPending, unsigned int *failureOccurred) {
    BEGIN_DEV("nvmlDeviceGetRemappedRows", d);
    NEED(corrRows && uncRows && isPending && failureOccurred);
    GET_UINT(c, corrRows, ".corrRows");
    GET_UINT(c, uncRows, ".uncRows");
    GET_UINT(c, isPending, ".isPending");
    GET_UINT(c, failureOccurred, ".failureOccurred");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetRowRemapperHistogram(nvmlDevice_t d, nvmlRowRemapperHistogramValues_t *v) {
    BEGIN_DEV("nvmlDeviceGetRowRemapperHistogram", d);
    NEED(v);
    nvmlRowRemapperHistogramValues_t o;
    GET_UINT(c, &o.max, ".max");
    GET_UINT(c, &o.high, ".high");
    GET_UINT(c, &o.partial, ".partial");
    GET_UINT(c, &o.low, ".low");
    GET_UINT(c, &o.none, ".none");
    *v = o;
    return end(c, NVML_SUCCESS);
}

/* A comma-separated list of addresses (empty: none) per cause. */
static nvmlReturn_t retired_pages(ctx_t *c, nvmlPageRetirementCause_t cause, unsigned int *pageCount,
                                  unsigned long long *addresses, unsigned long long *timestamps) {
    const char *name = enum_name(retire_causes, cause);
    NEED(name && pageCount);
    nvmlReturn_t r;
    const char *v = val(c, &r, ".%s", name);
    if (!v) return end(c, r);
    unsigned n = 0;
    for (const char *p = v; *p;) {
        char *e;
        unsigned long long a = strtoull(p, &e, 0);
        if (e == p) break;
        if (n < *pageCount && addresses) addresses[n] = a;
        if (n < *pageCount && timestamps) timestamps[n] = 0;
        n++;
        p = *e == ',' ? e + 1 : e;
    }
    unsigned cap = *pageCount;
    *pageCount = n;
    return end(c, n > cap ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetRetiredPages(nvmlDevice_t d, nvmlPageRetirementCause_t cause, unsigned int *pageCount,
                                             unsigned long long *addresses) {
    BEGIN_DEV("nvmlDeviceGetRetiredPages", d);
    return retired_pages(c, cause, pageCount, addresses, NULL);
}

EXPORT nvmlReturn_t nvmlDeviceGetRetiredPages_v2(nvmlDevice_t d, nvmlPageRetirementCause_t cause, unsigned int *pageCount,
                                                unsigned long long *addresses, unsigned long long *timestamps) {
    BEGIN_DEV("nvmlDeviceGetRetiredPages", d);
    return retired_pages(c, cause, pageCount, addresses, timestamps);
}

/* ---------------------------------------------------------------- NVLink */

EXPORT nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t d, unsigned int link, nvmlEnableState_t *isActive) {
    BEGIN_DEV("nvmlDeviceGetNvLinkState", d);
    NEED(isActive);
    unsigned v;
    GET_UINT(c, &v, ".%u", link);
    *isActive = (nvmlEnableState_t)v;
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetNvLinkVersion(nvmlDevice_t d, unsigned int link, unsigned int *version) {
    BEGIN_DEV("nvmlDeviceGetNvLinkVersion", d);
    NEED(version);
    GET_UINT(c, version, ".%u", link);
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetNvLinkErrorCounter(nvmlDevice_t d, unsigned int link, nvmlNvLinkErrorCounter_t counter,
                                                   unsigned long long *value) {
    BEGIN_DEV("nvmlDeviceGetNvLinkErrorCounter", d);
    const char *name = enum_name(nvlink_counters, counter);
    NEED(name && value);
    GET_ULL(c, value, ".%u.%s", link, name);
    return end(c, NVML_SUCCESS);
}

/* ---------------------------------------------------------------- field values */

/*
 * `<prefix>nvmlDeviceGetFieldValues.<fieldId>[.<scopeId>]=[type:]value`, type
 * one of d ui ul ull sll si us (nvmlValueType_t), default ull. The scoped key
 * is tried first. A missing key fails that one field with NOT_SUPPORTED.
 */
EXPORT nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int count, nvmlFieldValue_t *values) {
    BEGIN_DEV("nvmlDeviceGetFieldValues", d);
    NEED(values && count >= 0);
    unsigned long long ts = now_us();
    for (int i = 0; i < count; i++) {
        nvmlFieldValue_t *f = &values[i];
        f->timestamp = (long long)ts;
        f->latencyUsec = 0;
        nvmlReturn_t r;
        const char *v = val(c, &r, ".%u.%u", f->fieldId, f->scopeId);
        if (!v && r == NVML_ERROR_NOT_SUPPORTED) v = val(c, &r, ".%u", f->fieldId);
        f->nvmlReturn = r;
        if (!v) continue;
        const char *colon = strchr(v, ':');
        char type[8] = "ull";
        if (colon && (size_t)(colon - v) < sizeof type) {
            memcpy(type, v, (size_t)(colon - v));
            type[colon - v] = 0;
            v = colon + 1;
        }
        memset(&f->value, 0, sizeof f->value);
        if (strcmp(type, "d") == 0) {
            f->valueType = NVML_VALUE_TYPE_DOUBLE;
            f->value.dVal = strtod(v, NULL);
        } else if (strcmp(type, "ui") == 0) {
            f->valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
            f->value.uiVal = (unsigned)strtoul(v, NULL, 0);
        } else if (strcmp(type, "ul") == 0) {
            f->valueType = NVML_VALUE_TYPE_UNSIGNED_LONG;
            f->value.ulVal = strtoul(v, NULL, 0);
        } else if (strcmp(type, "sll") == 0) {
            f->valueType = NVML_VALUE_TYPE_SIGNED_LONG_LONG;
            f->value.sllVal = strtoll(v, NULL, 0);
        } else if (strcmp(type, "si") == 0) {
            f->valueType = NVML_VALUE_TYPE_SIGNED_INT;
            f->value.siVal = (int)strtol(v, NULL, 0);
        } else if (strcmp(type, "us") == 0) {
            f->valueType = NVML_VALUE_TYPE_UNSIGNED_SHORT;
            f->value.usVal = (unsigned short)strtoul(v, NULL, 0);
        } else {
            f->valueType = NVML_VALUE_TYPE_UNSIGNED_LONG_LONG;
            f->value.ullVal = strtoull(v, NULL, 0);
        }
    }
    return end(c, NVML_SUCCESS);
}

/* ---------------------------------------------------------------- processes */

/* Number of consecutive `<fn>.<k>.pid` keys from k = 0. */
static unsigned list_len(ctx_t *c, const char *fn) {
    unsigned n = 0;
    while (lookupf("%s%s.%u.pid", c->prefix, fn, n)) n++;
    return n;
}

static unsigned long long list_ull(ctx_t *c, const char *fn, unsigned k, const char *member, unsigned long long dflt) {
    const char *v = lookupf("%s%s.%u.%s", c->prefix, fn, k, member);
    return v ? strtoull(v, NULL, 0) : dflt;
}

static nvmlReturn_t running(ctx_t *c, unsigned int *infoCount, nvmlProcessInfo_t *infos) {
    NEED(infoCount);
    unsigned n = list_len(c, c->fn);
    if (*infoCount < n || (n && !infos)) {
        *infoCount = n;
        return end(c, NVML_ERROR_INSUFFICIENT_SIZE);
    }
    for (unsigned k = 0; k < n; k++) {
        infos[k].pid = (unsigned)list_ull(c, c->fn, k, "pid", 0);
        infos[k].usedGpuMemory = list_ull(c, c->fn, k, "usedGpuMemory", NVML_VALUE_NOT_AVAILABLE);
        infos[k].gpuInstanceId = (unsigned)list_ull(c, c->fn, k, "gpuInstanceId", 0xFFFFFFFF);
        infos[k].computeInstanceId = (unsigned)list_ull(c, c->fn, k, "computeInstanceId", 0xFFFFFFFF);
    }
    *infoCount = n;
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t d, unsigned int *infoCount, nvmlProcessInfo_t *infos) {
    BEGIN_DEV("nvmlDeviceGetComputeRunningProcesses", d);
    return running(c, infoCount, infos);
}

EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses(nvmlDevice_t d, unsigned int *infoCount, nvmlProcessInfo_t *infos) {
    BEGIN_DEV("nvmlDeviceGetGraphicsRunningProcesses", d);
    return running(c, infoCount, infos);
}

EXPORT nvmlReturn_t nvmlDeviceGetMPSComputeRunningProcesses(nvmlDevice_t d, unsigned int *infoCount, nvmlProcessInfo_t *infos) {
    BEGIN_DEV("nvmlDeviceGetMPSComputeRunningProcesses", d);
    return running(c, infoCount, infos);
}

/*
 * Process utilisation samples: `<prefix>nvmlDeviceGetProcessUtilization.<k>.
 * {pid,smUtil,memUtil,encUtil,decUtil,jpgUtil,ofaUtil,ageUs}`, served by both
 * calls. A sample's timeStamp is the time of the call minus its ageUs
 * (default 0); as in NVML only samples newer than the caller's
 * lastSeenTimeStamp are returned, NVML_ERROR_NOT_FOUND when none is. Several
 * entries with one pid are several samples of that process.
 */
#define PU "nvmlDeviceGetProcessUtilization"
#define MAX_SAMPLES 1024

typedef struct {
    unsigned long long ts;
    unsigned pid, sm, mem, enc, dec, jpg, ofa;
} sample_t;

/* The samples newer than lastSeen, at most MAX_SAMPLES. */
static unsigned samples(ctx_t *c, unsigned long long lastSeen, sample_t *out) {
    unsigned n = list_len(c, PU), m = 0;
    unsigned long long now = now_us();
    for (unsigned k = 0; k < n && m < MAX_SAMPLES; k++) {
        unsigned long long age = list_ull(c, PU, k, "ageUs", 0);
        unsigned long long ts = age < now ? now - age : 0;
        if (ts <= lastSeen) continue;
        out[m++] = (sample_t){ts, (unsigned)list_ull(c, PU, k, "pid", 0), (unsigned)list_ull(c, PU, k, "smUtil", 0),
                              (unsigned)list_ull(c, PU, k, "memUtil", 0), (unsigned)list_ull(c, PU, k, "encUtil", 0),
                              (unsigned)list_ull(c, PU, k, "decUtil", 0), (unsigned)list_ull(c, PU, k, "jpgUtil", 0),
                              (unsigned)list_ull(c, PU, k, "ofaUtil", 0)};
    }
    return m;
}

EXPORT nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t d, nvmlProcessUtilizationSample_t *u, unsigned int *count,
                                                   unsigned long long lastSeen) {
    BEGIN_DEV(PU, d);
    NEED(count);
    static sample_t buf[MAX_SAMPLES]; /* used under the state lock only */
    unsigned n = samples(c, lastSeen, buf);
    if (n == 0) {
        *count = 0;
        return end(c, NVML_ERROR_NOT_FOUND);
    }
    if (!u || *count < n) {
        *count = n;
        return end(c, NVML_ERROR_INSUFFICIENT_SIZE);
    }
    for (unsigned k = 0; k < n; k++)
        u[k] = (nvmlProcessUtilizationSample_t){.pid = buf[k].pid, .timeStamp = buf[k].ts, .smUtil = buf[k].sm,
                                                .memUtil = buf[k].mem, .encUtil = buf[k].enc, .decUtil = buf[k].dec};
    *count = n;
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetProcessesUtilizationInfo(nvmlDevice_t d, nvmlProcessesUtilizationInfo_t *info) {
    BEGIN_DEV("nvmlDeviceGetProcessesUtilizationInfo", d);
    NEED(info);
    if (info->version != nvmlProcessesUtilizationInfo_v1) return end(c, NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    static sample_t buf[MAX_SAMPLES]; /* used under the state lock only */
    unsigned n = samples(c, info->lastSeenTimeStamp, buf);
    if (n == 0) {
        info->processSamplesCount = 0;
        return end(c, NVML_ERROR_NOT_FOUND);
    }
    if (!info->procUtilArray || info->processSamplesCount < n) {
        info->processSamplesCount = n;
        return end(c, NVML_ERROR_INSUFFICIENT_SIZE);
    }
    for (unsigned k = 0; k < n; k++)
        info->procUtilArray[k] = (nvmlProcessUtilizationInfo_v1_t){
            .timeStamp = buf[k].ts, .pid = buf[k].pid, .smUtil = buf[k].sm, .memUtil = buf[k].mem,
            .encUtil = buf[k].enc, .decUtil = buf[k].dec, .jpgUtil = buf[k].jpg, .ofaUtil = buf[k].ofa};
    info->processSamplesCount = n;
    return end(c, NVML_SUCCESS);
}

/* ---------------------------------------------------------------- MIG */

EXPORT nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t d, unsigned int *isMig) {
    BEGIN_DEV("nvmlDeviceIsMigDeviceHandle", d);
    NEED(isMig);
    *isMig = d->mig >= 0;
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t d, unsigned int index, nvmlDevice_t *mig) {
    BEGIN_DEV("nvmlDeviceGetMigDeviceHandleByIndex", d);
    NEED(mig && d->mig < 0);
    unsigned cur = 0;
    const char *v = lookupf("device.%u.nvmlDeviceGetMigMode.current", d->index);
    if (v && *v != '!') cur = (unsigned)strtoul(v, NULL, 0);
    if (!cur) return end(c, NVML_ERROR_INVALID_ARGUMENT);
    if (index >= MAX_MIG) return end(c, NVML_ERROR_INVALID_ARGUMENT);
    if (!lookupf("device.%u.mig.%u.nvmlDeviceGetUUID", d->index, index)) return end(c, NVML_ERROR_NOT_FOUND);
    *mig = &migs[d->index][index];
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t d, nvmlDevice_t *parent) {
    BEGIN_DEV("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", d);
    NEED(parent);
    if (d->mig < 0) return end(c, NVML_ERROR_INVALID_ARGUMENT);
    *parent = &gpus[d->index];
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t d, unsigned int *id) {
    BEGIN_DEV("nvmlDeviceGetGpuInstanceId", d);
    NEED(id);
    if (d->mig < 0) return end(c, NVML_ERROR_INVALID_ARGUMENT);
    GET_UINT(c, id, "%s", "");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t d, unsigned int *id) {
    BEGIN_DEV("nvmlDeviceGetComputeInstanceId", d);
    NEED(id);
    if (d->mig < 0) return end(c, NVML_ERROR_INVALID_ARGUMENT);
    GET_UINT(c, id, "%s", "");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetAttributes(nvmlDevice_t d, nvmlDeviceAttributes_t *a) {
    BEGIN_DEV("nvmlDeviceGetAttributes", d);
    NEED(a);
    nvmlDeviceAttributes_t o;
    GET_UINT(c, &o.multiprocessorCount, ".multiprocessorCount");
    GET_UINT(c, &o.sharedCopyEngineCount, ".sharedCopyEngineCount");
    GET_UINT(c, &o.sharedDecoderCount, ".sharedDecoderCount");
    GET_UINT(c, &o.sharedEncoderCount, ".sharedEncoderCount");
    GET_UINT(c, &o.sharedJpegCount, ".sharedJpegCount");
    GET_UINT(c, &o.sharedOfaCount, ".sharedOfaCount");
    GET_UINT(c, &o.gpuInstanceSliceCount, ".gpuInstanceSliceCount");
    GET_UINT(c, &o.computeInstanceSliceCount, ".computeInstanceSliceCount");
    GET_ULL(c, &o.memorySizeMB, ".memorySizeMB");
    *a = o;
    return end(c, NVML_SUCCESS);
}

/* ---------------------------------------------------------------- events */

/*
 * How far into the events file any event set of this process has read. A new
 * set starts there: events already delivered are not delivered again to a set
 * the caller re-creates, while events written before the first set exists
 * still arrive (tests need not wait for the caller's subscription).
 */
static long events_read;

EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) {
    BEGIN_SYS("nvmlEventSetCreate");
    NEED(set);
    *set = calloc(1, sizeof **set);
    if (*set) (*set)->offset = events_read;
    return end(c, *set ? NVML_SUCCESS : NVML_ERROR_MEMORY);
}

EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
    BEGIN_SYS("nvmlEventSetFree");
    NEED(set);
    free(set);
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t d, unsigned long long *types) {
    BEGIN_DEV("nvmlDeviceGetSupportedEventTypes", d);
    NEED(types);
    GET_ULL(c, types, "%s", "");
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t d, unsigned long long types, nvmlEventSet_t set) {
    BEGIN_DEV("nvmlDeviceRegisterEvents", d);
    NEED(set && d->mig < 0);
    const char *v = lookupf("device.%u.nvmlDeviceGetSupportedEventTypes", d->index);
    if (!v) return end(c, NVML_ERROR_NOT_SUPPORTED);
    if (*v == '!') return end(c, parse_error(v));
    unsigned long long supported = strtoull(v, NULL, 0);
    if (types & ~supported) return end(c, NVML_ERROR_NOT_SUPPORTED);
    set->types[d->index] |= types;
    return end(c, NVML_SUCCESS);
}

/*
 * Events come from the file named by the `events_file` key (or
 * $FAKE_NVML_EVENTS): one event per line, `<device index> <xid>
 * [<gpuInstanceId> <computeInstanceId>]`, delivered in order, each once per
 * event set, as nvmlEventTypeXidCriticalError. Tests append lines while the
 * caller waits. A line without its newline yet is left for the next wait.
 */
static int next_event(nvmlEventSet_t set, nvmlEventData_t *data) {
    const char *path = lookup("events_file");
    if (!path) path = getenv("FAKE_NVML_EVENTS");
    if (!path) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int found = 0;
    if (fseek(f, set->offset, SEEK_SET) == 0) {
        char line[256];
        while (!found && fgets(line, sizeof line, f)) {
            size_t l = strlen(line);
            if (!l || line[l - 1] != '\n') break;
            set->offset += (long)l;
            unsigned dev, gi = 0xFFFFFFFF, ci = 0xFFFFFFFF;
            unsigned long long xid;
            if (line[0] == '#' || sscanf(line, "%u %llu %u %u", &dev, &xid, &gi, &ci) < 2) continue;
            if (dev >= MAX_DEVICES || !(set->types[dev] & nvmlEventTypeXidCriticalError)) continue;
            data->device = &gpus[dev];
            data->eventType = nvmlEventTypeXidCriticalError;
            data->eventData = xid;
            data->gpuInstanceId = gi;
            data->computeInstanceId = ci;
            found = 1;
        }
    }
    fclose(f);
    if (set->offset > events_read) events_read = set->offset;
    return found;
}

EXPORT nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms) {
    BEGIN_SYS("nvmlEventSetWait");
    NEED(set && data);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (next_event(set, data)) return end(c, NVML_SUCCESS);
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
        if (elapsed >= (long)timeoutms) return end(c, NVML_ERROR_TIMEOUT);
        pthread_mutex_unlock(&mu);
        long left = (long)timeoutms - elapsed;
        sleep_ms(left < 10 ? left : 10);
        pthread_mutex_lock(&mu);
        maybe_reload();
    }
}

/* ---------------------------------------------------------------- GPM */

EXPORT nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t d, nvmlGpmSupport_t *s) {
    BEGIN_DEV("nvmlGpmQueryDeviceSupport", d);
    NEED(s);
    if (s->version != NVML_GPM_SUPPORT_VERSION) return end(c, NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    const char *v = lookupf("device.%u.nvmlGpmQueryDeviceSupport", d->index);
    s->isSupportedDevice = v ? (unsigned)strtoul(v, NULL, 0) : 0;
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t *s) {
    BEGIN_SYS("nvmlGpmSampleAlloc");
    NEED(s);
    *s = calloc(1, sizeof **s);
    return end(c, *s ? NVML_SUCCESS : NVML_ERROR_MEMORY);
}

EXPORT nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t s) {
    BEGIN_SYS("nvmlGpmSampleFree");
    NEED(s);
    free(s);
    return end(c, NVML_SUCCESS);
}

static int gpm_supported(unsigned dev) {
    const char *v = lookupf("device.%u.nvmlGpmQueryDeviceSupport", dev);
    return v && *v != '!' && strtoul(v, NULL, 0) != 0;
}

EXPORT nvmlReturn_t nvmlGpmSampleGet(nvmlDevice_t d, nvmlGpmSample_t s) {
    BEGIN_DEV("nvmlGpmSampleGet", d);
    NEED(s);
    if (!gpm_supported(d->index)) return end(c, NVML_ERROR_NOT_SUPPORTED);
    s->taken = 1;
    s->device = d;
    s->mig = -1;
    s->gpuInstanceId = 0xFFFFFFFF;
    s->seq = ++gpm_seq;
    return end(c, NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlGpmMigSampleGet(nvmlDevice_t d, unsigned int gpuInstanceId, nvmlGpmSample_t s) {
    BEGIN_DEV("nvmlGpmMigSampleGet", d);
    NEED(s && d->mig < 0);
    if (!gpm_supported(d->index)) return end(c, NVML_ERROR_NOT_SUPPORTED);
    for (int m = 0; m < MAX_MIG; m++) {
        const char *v = lookupf("device.%u.mig.%d.nvmlDeviceGetGpuInstanceId", d->index, m);
        if (v && *v != '!' && strtoul(v, NULL, 0) == gpuInstanceId) {
            s->taken = 1;
            s->device = d;
            s->mig = m;
            s->gpuInstanceId = gpuInstanceId;
            s->seq = ++gpm_seq;
            return end(c, NVML_SUCCESS);
        }
    }
    return end(c, NVML_ERROR_NOT_FOUND);
}

/*
 * `device.N[.mig.M].nvmlGpmMetricsGet.<metricId>=<double>`: the value the
 * pair of samples yields. The fake checks the pair (same device or instance,
 * sample2 taken after sample1) and serves the configured value.
 */
EXPORT nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t *m) {
    if (!m || !m->sample1 || !m->sample2 || !m->sample1->taken || !m->sample2->taken) {
        ctx_t c_ = {0};
        nvmlReturn_t r = begin_sys(&c_, "nvmlGpmMetricsGet");
        return end(&c_, r != NVML_SUCCESS ? r : NVML_ERROR_INVALID_ARGUMENT);
    }
    BEGIN_DEV("nvmlGpmMetricsGet", m->sample1->device);
    if (m->version != NVML_GPM_METRICS_GET_VERSION) return end(c, NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    if (m->numMetrics > NVML_GPM_METRIC_MAX) return end(c, NVML_ERROR_INVALID_ARGUMENT);
    if (m->sample1->device != m->sample2->device || m->sample1->mig != m->sample2->mig || m->sample2->seq <= m->sample1->seq)
        return end(c, NVML_ERROR_INVALID_ARGUMENT);
    if (m->sample1->mig >= 0) snprintf(c->prefix, sizeof c->prefix, "device.%u.mig.%d.", m->sample1->device->index, m->sample1->mig);
    for (unsigned i = 0; i < m->numMetrics; i++) {
        nvmlGpmMetric_t *x = &m->metrics[i];
        nvmlReturn_t r;
        const char *v = val(c, &r, ".%u", x->metricId);
        x->nvmlReturn = r;
        x->value = v ? strtod(v, NULL) : 0;
        x->metricInfo.shortName = NULL;
        x->metricInfo.longName = NULL;
        x->metricInfo.unit = NULL;
    }
    return end(c, NVML_SUCCESS);
}

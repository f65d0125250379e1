/*
 * nvml-dump: loads an NVML library by path (the fake, or the real
 * libnvidia-ml.so.1 on a GPU machine) and prints what it answers, one
 * `key=value` per line in the fake's state-file format (README.md), errors as
 * `!NAME`. Against the fake it shows what a caller really receives through
 * the C ABI; against the real driver it records a machine as a state file.
 * It only reads: it calls no NVML function that changes a setting.
 *
 *   nvml-dump <library> [gpm [<ms between samples, default 1000>]] [events <seconds>]
 *   nvml-dump <library> ... since <us>   (process utilisation newer than <us> ago only)
 *   nvml-dump <library> events <seconds> resubscribe   (then a new event set waits once more)
 *   nvml-dump <library> hang-probe
 *
 * Symbols are looked up by the names nvml.h maps the calls to
 * (nvmlInit -> nvmlInit_v2 ...), the names a real caller binds.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "nvml.h"

/* Reads the deprecated calls too (temperature, violation status): callers
 * that support older drivers still use them, and the fake must answer them. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static void *lib;

#define STR2(x) #x
#define STR(x) STR2(x)
/* The function pointer for the (possibly versioned) symbol a call maps to. */
#define SYM(f) ((__typeof__(&f))sym(STR(f)))

static void *sym(const char *name) {
    void *p = dlsym(lib, name);
    if (!p) {
        fprintf(stderr, "nvml-dump: %s: symbol %s missing\n", "library", name);
        exit(3);
    }
    return p;
}

static const char *errname(nvmlReturn_t r) {
    switch (r) {
#define E(x) \
    case NVML_ERROR_##x: return #x;
        E(UNINITIALIZED) E(INVALID_ARGUMENT) E(NOT_SUPPORTED) E(NO_PERMISSION) E(ALREADY_INITIALIZED) E(NOT_FOUND)
        E(INSUFFICIENT_SIZE) E(INSUFFICIENT_POWER) E(DRIVER_NOT_LOADED) E(TIMEOUT) E(IRQ_ISSUE) E(LIBRARY_NOT_FOUND)
        E(FUNCTION_NOT_FOUND) E(CORRUPTED_INFOROM) E(GPU_IS_LOST) E(RESET_REQUIRED) E(OPERATING_SYSTEM)
        E(LIB_RM_VERSION_MISMATCH) E(IN_USE) E(MEMORY) E(NO_DATA) E(VGPU_ECC_NOT_SUPPORTED) E(INSUFFICIENT_RESOURCES)
        E(FREQ_NOT_SUPPORTED) E(ARGUMENT_VERSION_MISMATCH) E(DEPRECATED) E(NOT_READY) E(GPU_NOT_FOUND) E(INVALID_STATE)
        E(RESET_TYPE_NOT_SUPPORTED) E(UNKNOWN)
#undef E
    default: return "UNKNOWN";
    }
}

static char pfx[128];

/* Prints `<pfx><key>=<value>` or `<pfx><key>=!ERROR`; returns whether it succeeded. */
#define OUT(r, key, ...)                                              \
    do {                                                              \
        if ((r) == NVML_SUCCESS) {                                    \
            printf("%s%s=", pfx, key);                                \
            printf(__VA_ARGS__);                                      \
            putchar('\n');                                            \
        } else                                                        \
            printf("%s%s=!%s\n", pfx, key, errname(r));              \
    } while (0)

#define U(fn, key)                                  \
    do {                                            \
        unsigned v_ = 0;                            \
        nvmlReturn_t r_ = SYM(fn)(d, (void *)&v_);  \
        OUT(r_, key, "%u", v_);                     \
    } while (0)

#define S(fn, key)                                   \
    do {                                             \
        char b_[256] = "";                           \
        nvmlReturn_t r_ = SYM(fn)(d, b_, sizeof b_); \
        OUT(r_, key, "%s", b_);                      \
    } while (0)

typedef struct {
    const char *name;
    int value;
} name_t;
#define N(x) {#x, (int)(x)}

static const name_t clock_types[] = {N(NVML_CLOCK_GRAPHICS), N(NVML_CLOCK_SM), N(NVML_CLOCK_MEM), N(NVML_CLOCK_VIDEO), {0, 0}};
static const name_t clock_ids[] = {N(NVML_CLOCK_ID_CURRENT), N(NVML_CLOCK_ID_APP_CLOCK_TARGET), N(NVML_CLOCK_ID_APP_CLOCK_DEFAULT), {0, 0}};
static const name_t inforom[] = {N(NVML_INFOROM_OEM), N(NVML_INFOROM_ECC), N(NVML_INFOROM_POWER), {0, 0}};
static const name_t perf_policies[] = {N(NVML_PERF_POLICY_POWER), N(NVML_PERF_POLICY_THERMAL), N(NVML_PERF_POLICY_SYNC_BOOST), {0, 0}};
static const name_t err_types[] = {N(NVML_MEMORY_ERROR_TYPE_CORRECTED), N(NVML_MEMORY_ERROR_TYPE_UNCORRECTED), {0, 0}};
static const name_t ecc_counters[] = {N(NVML_VOLATILE_ECC), N(NVML_AGGREGATE_ECC), {0, 0}};
static const name_t locations[] = {
    N(NVML_MEMORY_LOCATION_DEVICE_MEMORY), N(NVML_MEMORY_LOCATION_DRAM), N(NVML_MEMORY_LOCATION_REGISTER_FILE),
    N(NVML_MEMORY_LOCATION_L1_CACHE), N(NVML_MEMORY_LOCATION_L2_CACHE), N(NVML_MEMORY_LOCATION_TEXTURE_MEMORY),
    N(NVML_MEMORY_LOCATION_CBU), N(NVML_MEMORY_LOCATION_SRAM), {0, 0}};
static const name_t causes[] = {N(NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS),
                                N(NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR), {0, 0}};
static const name_t thresholds[] = {N(NVML_TEMPERATURE_THRESHOLD_SHUTDOWN), N(NVML_TEMPERATURE_THRESHOLD_SLOWDOWN),
                                    N(NVML_TEMPERATURE_THRESHOLD_GPU_MAX), N(NVML_TEMPERATURE_THRESHOLD_MEM_MAX), {0, 0}};
static const name_t pcie[] = {N(NVML_PCIE_UTIL_TX_BYTES), N(NVML_PCIE_UTIL_RX_BYTES), {0, 0}};

/* Field ids the exporter reads, printed with the value type NVML reports. */
static const unsigned fields[] = {
    NVML_FI_DEV_MEMORY_TEMP, NVML_FI_DEV_POWER_AVERAGE, NVML_FI_DEV_POWER_INSTANT, NVML_FI_DEV_PCIE_REPLAY_COUNTER,
    NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION, NVML_FI_DEV_NVLINK_LINK_COUNT,
    NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_POWER_CAP, NVML_FI_DEV_CLOCKS_EVENT_REASON_SYNC_BOOST,
    NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN, NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN,
    NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN, NVML_FI_DEV_PCIE_COUNT_TX_BYTES, NVML_FI_DEV_PCIE_COUNT_RX_BYTES,
    NVML_FI_DEV_GET_GPU_RECOVERY_ACTION, NVML_FI_DEV_ENERGY,
};

static void field_values(nvmlDevice_t d, unsigned nvlinks) {
    nvmlFieldValue_t v[64];
    unsigned n = 0;
    memset(v, 0, sizeof v);
    for (unsigned i = 0; i < sizeof fields / sizeof *fields; i++) v[n++].fieldId = fields[i];
    for (unsigned l = 0; l < nvlinks && n + 2 <= 64; l++) {
        v[n].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX;
        v[n++].scopeId = l;
        v[n].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX;
        v[n++].scopeId = l;
    }
    nvmlReturn_t r = SYM(nvmlDeviceGetFieldValues)(d, (int)n, v);
    if (r != NVML_SUCCESS) {
        OUT(r, "nvmlDeviceGetFieldValues", "%s", "");
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        char key[96];
        if (v[i].fieldId == NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX || v[i].fieldId == NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX)
            snprintf(key, sizeof key, "nvmlDeviceGetFieldValues.%u.%u", v[i].fieldId, v[i].scopeId);
        else snprintf(key, sizeof key, "nvmlDeviceGetFieldValues.%u", v[i].fieldId);
        if (v[i].nvmlReturn != NVML_SUCCESS) {
            printf("%s%s=!%s\n", pfx, key, errname(v[i].nvmlReturn));
            continue;
        }
        switch (v[i].valueType) {
        case NVML_VALUE_TYPE_DOUBLE: printf("%s%s=d:%.17g\n", pfx, key, v[i].value.dVal); break;
        case NVML_VALUE_TYPE_UNSIGNED_INT: printf("%s%s=ui:%u\n", pfx, key, v[i].value.uiVal); break;
        case NVML_VALUE_TYPE_UNSIGNED_LONG: printf("%s%s=ul:%lu\n", pfx, key, v[i].value.ulVal); break;
        case NVML_VALUE_TYPE_SIGNED_LONG_LONG: printf("%s%s=sll:%lld\n", pfx, key, v[i].value.sllVal); break;
        case NVML_VALUE_TYPE_SIGNED_INT: printf("%s%s=si:%d\n", pfx, key, v[i].value.siVal); break;
        case NVML_VALUE_TYPE_UNSIGNED_SHORT: printf("%s%s=us:%u\n", pfx, key, (unsigned)v[i].value.usVal); break;
        default: printf("%s%s=ull:%llu\n", pfx, key, v[i].value.ullVal); break;
        }
    }
}

static void process_list(nvmlDevice_t d, int graphics) {
    const char *fn = graphics ? "nvmlDeviceGetGraphicsRunningProcesses" : "nvmlDeviceGetComputeRunningProcesses";
    nvmlProcessInfo_t p[64];
    unsigned n = 64;
    nvmlReturn_t r = graphics ? SYM(nvmlDeviceGetGraphicsRunningProcesses)(d, &n, p) : SYM(nvmlDeviceGetComputeRunningProcesses)(d, &n, p);
    if (r != NVML_SUCCESS) {
        OUT(r, fn, "%s", "");
        return;
    }
    for (unsigned k = 0; k < n; k++) {
        printf("%s%s.%u.pid=%u\n", pfx, fn, k, p[k].pid);
        printf("%s%s.%u.usedGpuMemory=%llu\n", pfx, fn, k, p[k].usedGpuMemory);
        if (p[k].gpuInstanceId != 0xFFFFFFFF) printf("%s%s.%u.gpuInstanceId=%u\n", pfx, fn, k, p[k].gpuInstanceId);
        if (p[k].computeInstanceId != 0xFFFFFFFF) printf("%s%s.%u.computeInstanceId=%u\n", pfx, fn, k, p[k].computeInstanceId);
        char name[256] = "";
        nvmlReturn_t rn = SYM(nvmlSystemGetProcessName)(p[k].pid, name, sizeof name);
        if (rn == NVML_SUCCESS) printf("nvmlSystemGetProcessName.%u=%s\n", p[k].pid, name);
        else printf("nvmlSystemGetProcessName.%u=!%s\n", p[k].pid, errname(rn));
    }
}

static void processes(nvmlDevice_t d) {
    process_list(d, 0);
    process_list(d, 1);
}

static unsigned long long since_us; /* `since <us>`: ask only for samples newer than that long ago */

static void process_utilization(nvmlDevice_t d) {
    nvmlProcessUtilizationInfo_v1_t a[64];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    unsigned long long now = (unsigned long long)tv.tv_sec * 1000000ULL + (unsigned long long)tv.tv_usec;
    nvmlProcessesUtilizationInfo_t info = {.version = nvmlProcessesUtilizationInfo_v1, .processSamplesCount = 64,
                                           .lastSeenTimeStamp = since_us ? now - since_us : 0, .procUtilArray = a};
    nvmlReturn_t r = SYM(nvmlDeviceGetProcessesUtilizationInfo)(d, &info);
    if (r == NVML_ERROR_NOT_FOUND) return; /* no samples: nothing ran */
    if (r != NVML_SUCCESS) {
        OUT(r, "nvmlDeviceGetProcessUtilization", "%s", "");
        return;
    }
    for (unsigned k = 0; k < info.processSamplesCount; k++) {
        const char *m = "nvmlDeviceGetProcessUtilization";
        printf("%s%s.%u.pid=%u\n", pfx, m, k, a[k].pid);
        printf("%s%s.%u.smUtil=%u\n", pfx, m, k, a[k].smUtil);
        printf("%s%s.%u.memUtil=%u\n", pfx, m, k, a[k].memUtil);
        printf("%s%s.%u.encUtil=%u\n", pfx, m, k, a[k].encUtil);
        printf("%s%s.%u.decUtil=%u\n", pfx, m, k, a[k].decUtil);
        printf("%s%s.%u.jpgUtil=%u\n", pfx, m, k, a[k].jpgUtil);
        printf("%s%s.%u.ofaUtil=%u\n", pfx, m, k, a[k].ofaUtil);
    }
}

static unsigned gpm_ms = 1000;

/* Two GPM samples gpm_ms apart, every metric id the header defines up to FP16 and the bandwidths. */
static void gpm(nvmlDevice_t d, int mig, unsigned gi) {
    static const unsigned ids[] = {NVML_GPM_METRIC_GRAPHICS_UTIL, NVML_GPM_METRIC_SM_UTIL, NVML_GPM_METRIC_SM_OCCUPANCY,
                                   NVML_GPM_METRIC_INTEGER_UTIL, NVML_GPM_METRIC_ANY_TENSOR_UTIL, NVML_GPM_METRIC_DFMA_TENSOR_UTIL,
                                   NVML_GPM_METRIC_HMMA_TENSOR_UTIL, NVML_GPM_METRIC_IMMA_TENSOR_UTIL, NVML_GPM_METRIC_DRAM_BW_UTIL,
                                   NVML_GPM_METRIC_FP64_UTIL, NVML_GPM_METRIC_FP32_UTIL, NVML_GPM_METRIC_FP16_UTIL,
                                   NVML_GPM_METRIC_PCIE_TX_PER_SEC, NVML_GPM_METRIC_PCIE_RX_PER_SEC,
                                   NVML_GPM_METRIC_NVLINK_TOTAL_RX_PER_SEC, NVML_GPM_METRIC_NVLINK_TOTAL_TX_PER_SEC};
    nvmlGpmSample_t s1, s2;
    if (SYM(nvmlGpmSampleAlloc)(&s1) != NVML_SUCCESS || SYM(nvmlGpmSampleAlloc)(&s2) != NVML_SUCCESS) return;
    nvmlReturn_t r = mig ? SYM(nvmlGpmMigSampleGet)(d, gi, s1) : SYM(nvmlGpmSampleGet)(d, s1);
    if (r == NVML_SUCCESS) {
        usleep(gpm_ms * 1000u);
        r = mig ? SYM(nvmlGpmMigSampleGet)(d, gi, s2) : SYM(nvmlGpmSampleGet)(d, s2);
    }
    static nvmlGpmMetricsGet_t m;
    memset(&m, 0, sizeof m);
    m.version = NVML_GPM_METRICS_GET_VERSION;
    m.numMetrics = sizeof ids / sizeof *ids;
    m.sample1 = s1;
    m.sample2 = s2;
    for (unsigned i = 0; i < m.numMetrics; i++) m.metrics[i].metricId = ids[i];
    if (r == NVML_SUCCESS) r = SYM(nvmlGpmMetricsGet)(&m);
    if (r != NVML_SUCCESS) OUT(r, "nvmlGpmMetricsGet", "%s", "");
    else
        for (unsigned i = 0; i < m.numMetrics; i++) {
            char key[64];
            snprintf(key, sizeof key, "nvmlGpmMetricsGet.%u", ids[i]);
            OUT(m.metrics[i].nvmlReturn, key, "%.17g", m.metrics[i].value);
        }
    SYM(nvmlGpmSampleFree)(s1);
    SYM(nvmlGpmSampleFree)(s2);
}

/* Everything both a GPU and a MIG device answer. */
static void common(nvmlDevice_t d) {
    S(nvmlDeviceGetName, "nvmlDeviceGetName");
    S(nvmlDeviceGetUUID, "nvmlDeviceGetUUID");
    nvmlMemory_v2_t mem = {.version = nvmlMemory_v2};
    nvmlReturn_t r = SYM(nvmlDeviceGetMemoryInfo_v2)(d, &mem);
    OUT(r, "nvmlDeviceGetMemoryInfo.total", "%llu", mem.total);
    OUT(r, "nvmlDeviceGetMemoryInfo.reserved", "%llu", mem.reserved);
    OUT(r, "nvmlDeviceGetMemoryInfo.used", "%llu", mem.used);
    OUT(r, "nvmlDeviceGetMemoryInfo.free", "%llu", mem.free);
    processes(d);
}

static void device(nvmlDevice_t d, int want_gpm) {
    common(d);
    S(nvmlDeviceGetSerial, "nvmlDeviceGetSerial");
    S(nvmlDeviceGetVbiosVersion, "nvmlDeviceGetVbiosVersion");
    S(nvmlDeviceGetInforomImageVersion, "nvmlDeviceGetInforomImageVersion");
    for (const name_t *o = inforom; o->name; o++) {
        char b[64] = "", key[96];
        nvmlReturn_t r = SYM(nvmlDeviceGetInforomVersion)(d, (nvmlInforomObject_t)o->value, b, sizeof b);
        snprintf(key, sizeof key, "nvmlDeviceGetInforomVersion.%s", o->name);
        OUT(r, key, "%s", b);
    }
    S(nvmlDeviceGetBoardPartNumber, "nvmlDeviceGetBoardPartNumber");
    nvmlPciInfo_t pci;
    nvmlReturn_t r = SYM(nvmlDeviceGetPciInfo)(d, &pci);
    OUT(r, "nvmlDeviceGetPciInfo.busId", "%s", pci.busId);
    OUT(r, "nvmlDeviceGetPciInfo.busIdLegacy", "%s", pci.busIdLegacy);
    OUT(r, "nvmlDeviceGetPciInfo.domain", "0x%08X", pci.domain);
    OUT(r, "nvmlDeviceGetPciInfo.bus", "0x%02X", pci.bus);
    OUT(r, "nvmlDeviceGetPciInfo.device", "0x%02X", pci.device);
    OUT(r, "nvmlDeviceGetPciInfo.pciDeviceId", "0x%08X", pci.pciDeviceId);
    OUT(r, "nvmlDeviceGetPciInfo.pciSubSystemId", "0x%08X", pci.pciSubSystemId);
    U(nvmlDeviceGetCurrPcieLinkGeneration, "nvmlDeviceGetCurrPcieLinkGeneration");
    U(nvmlDeviceGetMaxPcieLinkGeneration, "nvmlDeviceGetMaxPcieLinkGeneration");
    U(nvmlDeviceGetGpuMaxPcieLinkGeneration, "nvmlDeviceGetGpuMaxPcieLinkGeneration");
    U(nvmlDeviceGetCurrPcieLinkWidth, "nvmlDeviceGetCurrPcieLinkWidth");
    U(nvmlDeviceGetMaxPcieLinkWidth, "nvmlDeviceGetMaxPcieLinkWidth");
    U(nvmlDeviceGetPcieReplayCounter, "nvmlDeviceGetPcieReplayCounter");
    for (const name_t *c = pcie; c->name; c++) {
        unsigned v = 0;
        char key[96];
        r = SYM(nvmlDeviceGetPcieThroughput)(d, (nvmlPcieUtilCounter_t)c->value, &v);
        snprintf(key, sizeof key, "nvmlDeviceGetPcieThroughput.%s", c->name);
        OUT(r, key, "%u", v);
    }
    U(nvmlDeviceGetPersistenceMode, "nvmlDeviceGetPersistenceMode");
    U(nvmlDeviceGetDisplayMode, "nvmlDeviceGetDisplayMode");
    U(nvmlDeviceGetDisplayActive, "nvmlDeviceGetDisplayActive");
    U(nvmlDeviceGetAccountingMode, "nvmlDeviceGetAccountingMode");
    U(nvmlDeviceGetAccountingBufferSize, "nvmlDeviceGetAccountingBufferSize");
    U(nvmlDeviceGetPerformanceState, "nvmlDeviceGetPerformanceState");
    U(nvmlDeviceGetComputeMode, "nvmlDeviceGetComputeMode");
    U(nvmlDeviceGetMinorNumber, "nvmlDeviceGetMinorNumber");
    U(nvmlDeviceGetBrand, "nvmlDeviceGetBrand");
    U(nvmlDeviceGetArchitecture, "nvmlDeviceGetArchitecture");
    int major = 0, minor = 0;
    r = SYM(nvmlDeviceGetCudaComputeCapability)(d, &major, &minor);
    OUT(r, "nvmlDeviceGetCudaComputeCapability.major", "%d", major);
    OUT(r, "nvmlDeviceGetCudaComputeCapability.minor", "%d", minor);
    unsigned a = 0, b = 0;
    r = SYM(nvmlDeviceGetMigMode)(d, &a, &b);
    OUT(r, "nvmlDeviceGetMigMode.current", "%u", a);
    OUT(r, "nvmlDeviceGetMigMode.pending", "%u", b);
    r = SYM(nvmlDeviceGetGspFirmwareMode)(d, &a, &b);
    OUT(r, "nvmlDeviceGetGspFirmwareMode.isEnabled", "%u", a);
    OUT(r, "nvmlDeviceGetGspFirmwareMode.defaultMode", "%u", b);
    nvmlEnableState_t ea = 0, eb = 0;
    r = SYM(nvmlDeviceGetEccMode)(d, &ea, &eb);
    OUT(r, "nvmlDeviceGetEccMode.current", "%u", (unsigned)ea);
    OUT(r, "nvmlDeviceGetEccMode.pending", "%u", (unsigned)eb);

    nvmlUtilization_t u;
    r = SYM(nvmlDeviceGetUtilizationRates)(d, &u);
    OUT(r, "nvmlDeviceGetUtilizationRates.gpu", "%u", u.gpu);
    OUT(r, "nvmlDeviceGetUtilizationRates.memory", "%u", u.memory);
#define ENGINE(fn)                                                  \
    do {                                                            \
        unsigned x = 0, p = 0;                                      \
        r = SYM(fn)(d, &x, &p);                                     \
        OUT(r, #fn ".utilization", "%u", x);                        \
        OUT(r, #fn ".samplingPeriodUs", "%u", p);                   \
    } while (0)
    ENGINE(nvmlDeviceGetEncoderUtilization);
    ENGINE(nvmlDeviceGetDecoderUtilization);
    ENGINE(nvmlDeviceGetJpgUtilization);
    ENGINE(nvmlDeviceGetOfaUtilization);
    unsigned sc = 0, fps = 0, lat = 0;
    r = SYM(nvmlDeviceGetEncoderStats)(d, &sc, &fps, &lat);
    OUT(r, "nvmlDeviceGetEncoderStats.sessionCount", "%u", sc);
    OUT(r, "nvmlDeviceGetEncoderStats.averageFps", "%u", fps);
    OUT(r, "nvmlDeviceGetEncoderStats.averageLatency", "%u", lat);

    unsigned t = 0;
    r = SYM(nvmlDeviceGetTemperature)(d, NVML_TEMPERATURE_GPU, &t);
    OUT(r, "nvmlDeviceGetTemperature.NVML_TEMPERATURE_GPU", "%u", t);
    for (const name_t *th = thresholds; th->name; th++) {
        char key[128];
        unsigned v = 0;
        r = SYM(nvmlDeviceGetTemperatureThreshold)(d, (nvmlTemperatureThresholds_t)th->value, &v);
        snprintf(key, sizeof key, "nvmlDeviceGetTemperatureThreshold.%s", th->name);
        OUT(r, key, "%u", v);
    }
    nvmlMarginTemperature_t margin = {.version = nvmlMarginTemperature_v1};
    r = SYM(nvmlDeviceGetMarginTemperature)(d, &margin);
    OUT(r, "nvmlDeviceGetMarginTemperature", "%d", margin.marginTemperature);

    U(nvmlDeviceGetPowerUsage, "nvmlDeviceGetPowerUsage");
    U(nvmlDeviceGetPowerManagementLimit, "nvmlDeviceGetPowerManagementLimit");
    U(nvmlDeviceGetEnforcedPowerLimit, "nvmlDeviceGetEnforcedPowerLimit");
    U(nvmlDeviceGetPowerManagementDefaultLimit, "nvmlDeviceGetPowerManagementDefaultLimit");
    r = SYM(nvmlDeviceGetPowerManagementLimitConstraints)(d, &a, &b);
    OUT(r, "nvmlDeviceGetPowerManagementLimitConstraints.minLimit", "%u", a);
    OUT(r, "nvmlDeviceGetPowerManagementLimitConstraints.maxLimit", "%u", b);
    unsigned long long energy = 0;
    r = SYM(nvmlDeviceGetTotalEnergyConsumption)(d, &energy);
    OUT(r, "nvmlDeviceGetTotalEnergyConsumption", "%llu", energy);

    for (const name_t *c = clock_types; c->name; c++) {
        char key[128];
        unsigned v = 0;
        r = SYM(nvmlDeviceGetClockInfo)(d, (nvmlClockType_t)c->value, &v);
        snprintf(key, sizeof key, "nvmlDeviceGetClockInfo.%s", c->name);
        OUT(r, key, "%u", v);
        r = SYM(nvmlDeviceGetMaxClockInfo)(d, (nvmlClockType_t)c->value, &v);
        snprintf(key, sizeof key, "nvmlDeviceGetMaxClockInfo.%s", c->name);
        OUT(r, key, "%u", v);
        r = SYM(nvmlDeviceGetMaxCustomerBoostClock)(d, (nvmlClockType_t)c->value, &v);
        snprintf(key, sizeof key, "nvmlDeviceGetMaxCustomerBoostClock.%s", c->name);
        OUT(r, key, "%u", v);
        r = SYM(nvmlDeviceGetApplicationsClock)(d, (nvmlClockType_t)c->value, &v);
        snprintf(key, sizeof key, "nvmlDeviceGetApplicationsClock.%s", c->name);
        OUT(r, key, "%u", v);
        r = SYM(nvmlDeviceGetDefaultApplicationsClock)(d, (nvmlClockType_t)c->value, &v);
        snprintf(key, sizeof key, "nvmlDeviceGetDefaultApplicationsClock.%s", c->name);
        OUT(r, key, "%u", v);
        for (const name_t *i = clock_ids; i->name; i++) {
            r = SYM(nvmlDeviceGetClock)(d, (nvmlClockType_t)c->value, (nvmlClockId_t)i->value, &v);
            snprintf(key, sizeof key, "nvmlDeviceGetClock.%s.%s", c->name, i->name);
            OUT(r, key, "%u", v);
        }
    }
    unsigned long long reasons = 0;
    r = SYM(nvmlDeviceGetSupportedClocksEventReasons)(d, &reasons);
    OUT(r, "nvmlDeviceGetSupportedClocksEventReasons", "0x%016llX", reasons);
    r = SYM(nvmlDeviceGetCurrentClocksEventReasons)(d, &reasons);
    OUT(r, "nvmlDeviceGetCurrentClocksEventReasons", "0x%016llX", reasons);
    for (const name_t *pp = perf_policies; pp->name; pp++) {
        nvmlViolationTime_t vt = {0, 0};
        char key[128];
        r = SYM(nvmlDeviceGetViolationStatus)(d, (nvmlPerfPolicyType_t)pp->value, &vt);
        snprintf(key, sizeof key, "nvmlDeviceGetViolationStatus.%s.violationTime", pp->name);
        OUT(r, key, "%llu", vt.violationTime);
        snprintf(key, sizeof key, "nvmlDeviceGetViolationStatus.%s.referenceTime", pp->name);
        OUT(r, key, "%llu", vt.referenceTime);
    }

    for (const name_t *et = err_types; et->name; et++)
        for (const name_t *ec = ecc_counters; ec->name; ec++) {
            char key[192];
            unsigned long long v = 0;
            r = SYM(nvmlDeviceGetTotalEccErrors)(d, (nvmlMemoryErrorType_t)et->value, (nvmlEccCounterType_t)ec->value, &v);
            snprintf(key, sizeof key, "nvmlDeviceGetTotalEccErrors.%s.%s", et->name, ec->name);
            OUT(r, key, "%llu", v);
            for (const name_t *l = locations; l->name; l++) {
                r = SYM(nvmlDeviceGetMemoryErrorCounter)(d, (nvmlMemoryErrorType_t)et->value, (nvmlEccCounterType_t)ec->value,
                                                         (nvmlMemoryLocation_t)l->value, &v);
                snprintf(key, sizeof key, "nvmlDeviceGetMemoryErrorCounter.%s.%s.%s", et->name, ec->name, l->name);
                OUT(r, key, "%llu", v);
            }
        }
    for (const name_t *c = causes; c->name; c++) {
        unsigned long long addr[256];
        unsigned n = 256;
        char key[128], list[256 * 20] = "";
        r = SYM(nvmlDeviceGetRetiredPages)(d, (nvmlPageRetirementCause_t)c->value, &n, addr);
        for (unsigned i = 0; r == NVML_SUCCESS && i < n; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s0x%llx", i ? "," : "", addr[i]);
        snprintf(key, sizeof key, "nvmlDeviceGetRetiredPages.%s", c->name);
        OUT(r, key, "%s", list);
    }
    U(nvmlDeviceGetRetiredPagesPendingStatus, "nvmlDeviceGetRetiredPagesPendingStatus");
    unsigned cr = 0, ur = 0, pend = 0, fail = 0;
    r = SYM(nvmlDeviceGetRemappedRows)(d, &cr, &ur, &pend, &fail);
    OUT(r, "nvmlDeviceGetRemappedRows.corrRows", "%u", cr);
    OUT(r, "nvmlDeviceGetRemappedRows.uncRows", "%u", ur);
    OUT(r, "nvmlDeviceGetRemappedRows.isPending", "%u", pend);
    OUT(r, "nvmlDeviceGetRemappedRows.failureOccurred", "%u", fail);
    nvmlRowRemapperHistogramValues_t h;
    r = SYM(nvmlDeviceGetRowRemapperHistogram)(d, &h);
    OUT(r, "nvmlDeviceGetRowRemapperHistogram.max", "%u", h.max);
    OUT(r, "nvmlDeviceGetRowRemapperHistogram.high", "%u", h.high);
    OUT(r, "nvmlDeviceGetRowRemapperHistogram.partial", "%u", h.partial);
    OUT(r, "nvmlDeviceGetRowRemapperHistogram.low", "%u", h.low);
    OUT(r, "nvmlDeviceGetRowRemapperHistogram.none", "%u", h.none);

    U(nvmlDeviceGetFanSpeed, "nvmlDeviceGetFanSpeed");
    unsigned fans = 0;
    r = SYM(nvmlDeviceGetNumFans)(d, &fans);
    OUT(r, "nvmlDeviceGetNumFans", "%u", fans);
    for (unsigned f = 0; r == NVML_SUCCESS && f < fans; f++) {
        unsigned s = 0;
        char key[64];
        nvmlReturn_t rf = SYM(nvmlDeviceGetFanSpeed_v2)(d, f, &s);
        snprintf(key, sizeof key, "nvmlDeviceGetFanSpeed_v2.%u", f);
        OUT(rf, key, "%u", s);
    }

    unsigned nvlinks = 0;
    for (unsigned l = 0; l < NVML_NVLINK_MAX_LINKS; l++) {
        nvmlEnableState_t st;
        if (SYM(nvmlDeviceGetNvLinkState)(d, l, &st) != NVML_SUCCESS) continue;
        printf("%snvmlDeviceGetNvLinkState.%u=%u\n", pfx, l, (unsigned)st);
        nvlinks = l + 1;
    }
    field_values(d, nvlinks);
    unsigned long long types = 0;
    r = SYM(nvmlDeviceGetSupportedEventTypes)(d, &types);
    OUT(r, "nvmlDeviceGetSupportedEventTypes", "0x%llX", types);
    process_utilization(d);

    nvmlGpmSupport_t gs = {.version = NVML_GPM_SUPPORT_VERSION};
    r = SYM(nvmlGpmQueryDeviceSupport)(d, &gs);
    OUT(r, "nvmlGpmQueryDeviceSupport", "%u", gs.isSupportedDevice);
    if (want_gpm && r == NVML_SUCCESS && gs.isSupportedDevice) gpm(d, 0, 0);

    unsigned cur = 0, pending = 0, maxMig = 0;
    if (SYM(nvmlDeviceGetMigMode)(d, &cur, &pending) != NVML_SUCCESS || !cur) return;
    r = SYM(nvmlDeviceGetMaxMigDeviceCount)(d, &maxMig);
    OUT(r, "nvmlDeviceGetMaxMigDeviceCount", "%u", maxMig);
    size_t plen = strlen(pfx);
    for (unsigned m = 0; m < maxMig; m++) {
        nvmlDevice_t md;
        if (SYM(nvmlDeviceGetMigDeviceHandleByIndex)(d, m, &md) != NVML_SUCCESS) continue;
        snprintf(pfx + plen, sizeof pfx - plen, "mig.%u.", m);
        common(md);
        unsigned gi = 0, ci = 0;
        r = SYM(nvmlDeviceGetGpuInstanceId)(md, &gi);
        OUT(r, "nvmlDeviceGetGpuInstanceId", "%u", gi);
        r = SYM(nvmlDeviceGetComputeInstanceId)(md, &ci);
        OUT(r, "nvmlDeviceGetComputeInstanceId", "%u", ci);
        nvmlDeviceAttributes_t at;
        r = SYM(nvmlDeviceGetAttributes)(md, &at);
        OUT(r, "nvmlDeviceGetAttributes.multiprocessorCount", "%u", at.multiprocessorCount);
        OUT(r, "nvmlDeviceGetAttributes.sharedCopyEngineCount", "%u", at.sharedCopyEngineCount);
        OUT(r, "nvmlDeviceGetAttributes.sharedDecoderCount", "%u", at.sharedDecoderCount);
        OUT(r, "nvmlDeviceGetAttributes.sharedEncoderCount", "%u", at.sharedEncoderCount);
        OUT(r, "nvmlDeviceGetAttributes.sharedJpegCount", "%u", at.sharedJpegCount);
        OUT(r, "nvmlDeviceGetAttributes.sharedOfaCount", "%u", at.sharedOfaCount);
        OUT(r, "nvmlDeviceGetAttributes.gpuInstanceSliceCount", "%u", at.gpuInstanceSliceCount);
        OUT(r, "nvmlDeviceGetAttributes.computeInstanceSliceCount", "%u", at.computeInstanceSliceCount);
        OUT(r, "nvmlDeviceGetAttributes.memorySizeMB", "%llu", at.memorySizeMB);
        process_utilization(md);
        if (want_gpm && gs.isSupportedDevice) gpm(d, 1, gi);
        pfx[plen] = 0;
    }
}

/*
 * `hang-probe`: one thread calls nvmlDeviceGetPowerUsage on GPU 0 while the
 * main thread keeps calling; shows whether a call stuck in the library
 * blocks the caller's other threads.
 */
static void *power_thread(void *arg) {
    nvmlDevice_t d = arg;
    unsigned mw = 0;
    nvmlReturn_t r = SYM(nvmlDeviceGetPowerUsage)(d, &mw);
    if (r == NVML_SUCCESS) printf("hung call returned %u\n", mw);
    else printf("hung call returned !%s\n", errname(r));
    fflush(stdout);
    return NULL;
}

static int hang_probe(void) {
    nvmlDevice_t d;
    if (SYM(nvmlDeviceGetHandleByIndex)(0, &d) != NVML_SUCCESS) return 1;
    pthread_t t;
    pthread_create(&t, NULL, power_thread, d);
    usleep(100 * 1000);
    char name[96] = "";
    unsigned n = 0;
    nvmlReturn_t r1 = SYM(nvmlDeviceGetName)(d, name, sizeof name);
    nvmlReturn_t r2 = SYM(nvmlDeviceGetCount)(&n);
    printf("meanwhile nvmlDeviceGetName=%s%s nvmlDeviceGetCount=%u%s\n", r1 ? "!" : "", r1 ? errname(r1) : name, n,
           r2 ? " (failed)" : "");
    fflush(stdout);
    pthread_join(t, NULL);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: nvml-dump <libnvidia-ml.so.1 path> [gpm [<ms>]] [events <seconds>]\n");
        return 2;
    }
    int want_gpm = 0, events = -1, probe = 0, resubscribe = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "gpm") == 0) {
            want_gpm = 1;
            if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') gpm_ms = (unsigned)atoi(argv[++i]);
        }
        if (strcmp(argv[i], "events") == 0 && i + 1 < argc) events = atoi(argv[++i]);
        if (strcmp(argv[i], "hang-probe") == 0) probe = 1;
        if (strcmp(argv[i], "resubscribe") == 0) resubscribe = 1;
        if (strcmp(argv[i], "since") == 0 && i + 1 < argc) since_us = strtoull(argv[++i], NULL, 10);
    }
    lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "nvml-dump: %s\n", dlerror());
        return 3;
    }
    nvmlReturn_t r = SYM(nvmlInit)();
    if (r != NVML_SUCCESS) {
        printf("nvmlInit=!%s\n", errname(r));
        return 0;
    }
    if (probe) {
        int rc = hang_probe();
        SYM(nvmlShutdown)();
        return rc;
    }
    char b[128] = "";
    r = SYM(nvmlSystemGetDriverVersion)(b, sizeof b);
    OUT(r, "nvmlSystemGetDriverVersion", "%s", b);
    r = SYM(nvmlSystemGetNVMLVersion)(b, sizeof b);
    OUT(r, "nvmlSystemGetNVMLVersion", "%s", b);
    int cuda = 0;
    r = SYM(nvmlSystemGetCudaDriverVersion_v2)(&cuda);
    OUT(r, "nvmlSystemGetCudaDriverVersion", "%d", cuda);
    unsigned n = 0;
    r = SYM(nvmlDeviceGetCount)(&n);
    OUT(r, "nvmlDeviceGetCount", "%u", n);
    nvmlEventSet_t set = NULL;
    if (events >= 0) SYM(nvmlEventSetCreate)(&set);
    for (unsigned i = 0; i < n; i++) {
        nvmlDevice_t d;
        snprintf(pfx, sizeof pfx, "device.%u.", i);
        r = SYM(nvmlDeviceGetHandleByIndex)(i, &d);
        if (r != NVML_SUCCESS) {
            OUT(r, "nvmlDeviceGetHandleByIndex", "%s", "");
            continue;
        }
        device(d, want_gpm);
        if (set) {
            r = SYM(nvmlDeviceRegisterEvents)(d, nvmlEventTypeXidCriticalError, set);
            OUT(r, "nvmlDeviceRegisterEvents", "%s", "ok");
        }
    }
    pfx[0] = 0;
    if (set) {
        /* XID events until a wait times out: `event.<k>=<device index> <xid> <gi> <ci>`. */
        for (unsigned k = 0;; k++) {
            nvmlEventData_t e;
            r = SYM(nvmlEventSetWait)(set, &e, (unsigned)events * 1000u);
            if (r != NVML_SUCCESS) {
                printf("nvmlEventSetWait=!%s\n", errname(r));
                break;
            }
            unsigned idx = 0;
            SYM(nvmlDeviceGetIndex)(e.device, &idx);
            printf("event.%u=%u %llu %u %u\n", k, idx, e.eventData, e.gpuInstanceId, e.computeInstanceId);
            fflush(stdout);
        }
        SYM(nvmlEventSetFree)(set);
        if (resubscribe) {
            /* A caller that re-creates its subscription: what does the new set get? */
            SYM(nvmlEventSetCreate)(&set);
            for (unsigned i = 0; i < n; i++) {
                nvmlDevice_t d;
                if (SYM(nvmlDeviceGetHandleByIndex)(i, &d) == NVML_SUCCESS) SYM(nvmlDeviceRegisterEvents)(d, nvmlEventTypeXidCriticalError, set);
            }
            nvmlEventData_t e;
            r = SYM(nvmlEventSetWait)(set, &e, (unsigned)events * 1000u);
            if (r == NVML_SUCCESS) printf("resubscribed.event=%llu\n", e.eventData);
            else printf("resubscribed.nvmlEventSetWait=!%s\n", errname(r));
            SYM(nvmlEventSetFree)(set);
        }
    }
    SYM(nvmlShutdown)();
    return 0;
}

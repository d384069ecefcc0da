/* odp's C API: load a model, encode 8-bit RGB to .odp bytes, decode, truncate and inspect .odp files. */
/*
 * Plain C99, no C++ or LibTorch types, in the manner of libwebp's encode.h/decode.h and dav1d.h.
 *
 * Contracts every function keeps:
 * - A function returning odp_status returns ODP_OK on success. On failure it returns another code, leaves its
 *   outputs untouched (pointers are not set) and records a one-line message that odp_error_message() returns
 *   on the same thread until the next call into odp from that thread fails.
 * - No exception leaves the library: LibTorch's errors, CUDA failures and allocation failures
 *   are all reported through the codes below.
 * - Buffers the library returns (encoded files, decoded pixels) are released with odp_free().
 * - Option structs start with struct_size. Fill them with the matching *_init() function, then change the
 *   fields you need: later versions only add fields at the end, and read a field only when the caller's
 *   struct_size covers it, so programs built against an older header keep working.
 * - An odp_model may be used by one thread at a time; several models may run in parallel.
 */
#ifndef ODP_ODP_H_
#define ODP_ODP_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && defined(ODP_BUILDING_LIBRARY)
#define ODP_API __declspec(dllexport)
#elif defined(_WIN32)
#define ODP_API __declspec(dllimport)
#elif defined(__GNUC__)
#define ODP_API __attribute__((visibility("default")))
#else
#define ODP_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this header; odp_version() gives the library's. */
#define ODP_VERSION_MAJOR 0
#define ODP_VERSION_MINOR 1
#define ODP_VERSION_PATCH 0

/* The outcome of a call. 1..4 equal the exit codes of the odp tools for the same failure. */
typedef enum odp_status {
  ODP_OK = 0,
  ODP_ERROR_USAGE = 1,         /* a null or impossible argument or option (e.g. quality outside 0..100) */
  ODP_ERROR_BAD_INPUT = 2,     /* corrupt, truncated beyond use, foreign or too large input */
  ODP_ERROR_IO = 3,            /* a file could not be opened, read or written */
  ODP_ERROR_MODEL = 4,         /* no model file, a broken one, a .odp made by another model, or the model
                                  failed to run (LibTorch reported an error) */
  ODP_ERROR_OUT_OF_MEMORY = 5, /* memory could not be had */
  ODP_ERROR_DEVICE = 6,        /* the GPU failed while the model ran on it (CUDA) */
  ODP_ERROR_INTERNAL = 7       /* anything else: a bug in odp; the message says what was caught */
} odp_status;

/* "major.minor.patch" of the library linked. */
ODP_API const char* odp_version(void);
/* The message of the last failed call on this thread ("" when none failed). Valid until the next call. */
ODP_API const char* odp_error_message(void);
/* A constant description of a status, e.g. "bad input". */
ODP_API const char* odp_status_name(odp_status status);
/* Releases a buffer returned by odp (NULL is ignored). */
ODP_API void odp_free(void* buffer);

/* ---- Models ------------------------------------------------------------------------------------------- */

typedef struct odp_model odp_model; /* opaque: a loaded tokenizer */

typedef enum odp_device {
  ODP_DEVICE_AUTO = 0, /* CUDA when a GPU is usable, else the CPU */
  ODP_DEVICE_CPU = 1,
  ODP_DEVICE_CUDA = 2
} odp_device;

typedef struct odp_model_options {
  uint32_t struct_size; /* sizeof(odp_model_options), set by odp_model_options_init */
  odp_device device;
  uint32_t reserved[8]; /* zero */
} odp_model_options;
ODP_API void odp_model_options_init(odp_model_options* options);

/* Loads a model file (.safetensors as odp ships it). options may be NULL (defaults). */
ODP_API odp_status odp_model_load(const char* path, const odp_model_options* options, odp_model** model);
/* Loads a model file's bytes from memory; the bytes may be freed once this returns. */
ODP_API odp_status odp_model_load_memory(const uint8_t* data, size_t size, const odp_model_options* options,
                                         odp_model** model);
/* Releases a model (NULL is ignored). */
ODP_API void odp_model_free(odp_model* model);

typedef struct odp_model_info {
  uint32_t struct_size; /* sizeof(odp_model_info), set by the caller */
  uint32_t model_id;    /* CRC-32 of the model file, as .odp files record it */
  int tile_size;        /* pixels per tile edge */
  int num_tokens;       /* tokens per tile at most */
  int codebook_bits;
  int on_gpu; /* 1 when the model runs on CUDA */
  uint32_t reserved[8];
} odp_model_info;
ODP_API odp_status odp_model_get_info(const odp_model* model, odp_model_info* info);

/* ---- Encoding ----------------------------------------------------------------------------------------- */

typedef enum odp_rate_control {
  ODP_RATE_TOKENS = 0,     /* the same number of tokens for every tile */
  ODP_RATE_QUALITY = 1,    /* quality 0..100: tokens per tile = round(256^(Q/100)) */
  ODP_RATE_SIZE = 2,       /* the longest prefix that fits max_bytes */
  ODP_RATE_TARGET_PSNR = 3 /* the image reaches target_psnr, tokens spent where they remove the most error */
} odp_rate_control;

#define ODP_AUTO_OVERLAP (-1)
#define ODP_AUTO_SCALE (0.0)

/* The encoder's arithmetic on CUDA; the CPU encoder and all decoding ignore it. */
typedef enum odp_gpu_precision {
  ODP_GPU_PRECISION_TF32 = 0, /* default: fp32 weights on TF32 tensor cores, nearly the CPU's tokens */
  ODP_GPU_PRECISION_BF16 = 1, /* the fastest; more tokens differ from the CPU's */
  ODP_GPU_PRECISION_FP32 = 2  /* no tensor cores: the CPU's tokens, the slowest */
} odp_gpu_precision;

typedef struct odp_encode_options {
  uint32_t struct_size;  /* sizeof(odp_encode_options), set by odp_encode_options_init */
  odp_rate_control rate; /* default ODP_RATE_TOKENS */
  int tokens;            /* ODP_RATE_TOKENS: 1..256 (default 256, clamped to the model's count) */
  double quality;        /* ODP_RATE_QUALITY: 0..100 (default 75) */
  uint64_t max_bytes;    /* ODP_RATE_SIZE: the file's budget in bytes */
  double target_psnr;    /* ODP_RATE_TARGET_PSNR: the image's PSNR in dB (default 32) */
  int tile_overlap;      /* pixels shared by neighbouring tiles, 0..tile-1, or ODP_AUTO_OVERLAP (default) */
  int keep_metadata;     /* carry icc/exif of odp_image into the file (default 1) */
  /* The coded image's size over the image's, 0 < scale <= 1 (the decoder upsamples back), or ODP_AUTO_SCALE
   * (0, default): ODP_RATE_SIZE searches the scale and overlap for the best PSNR, ODP_RATE_TARGET_PSNR for
   * the smallest file reaching the target, other rates code at 1.
   * Taken from reserved (zero in older callers: the default), so the struct's size is unchanged. */
  double scale;
  /* Taken from reserved like scale (zero in older callers: ODP_GPU_PRECISION_TF32, the default). */
  odp_gpu_precision gpu_precision;
  uint32_t reserved[13];
} odp_encode_options;
ODP_API void odp_encode_options_init(odp_encode_options* options);

/* 8-bit RGB, interleaved, rows top to bottom, stride bytes from one row to the next (>= 3 * width). */
typedef struct odp_image {
  int width, height;
  size_t stride;
  const uint8_t* rgb;
  const uint8_t* icc; /* ICC profile or NULL */
  size_t icc_size;
  const uint8_t* exif; /* EXIF block (without "Exif\0\0") or NULL */
  size_t exif_size;
} odp_image;

/* Encodes an image; *output receives the .odp file (release with odp_free) and *output_size its size.
 * options may be NULL (defaults). */
ODP_API odp_status odp_encode(odp_model* model, const odp_image* image, const odp_encode_options* options,
                              uint8_t** output, size_t* output_size);

/* ---- Decoding ----------------------------------------------------------------------------------------- */

typedef struct odp_decode_options {
  uint32_t struct_size;   /* sizeof(odp_decode_options), set by odp_decode_options_init */
  int max_tokens;         /* 0: every token the file holds; else at most this many per tile */
  int seam_cast_radius;   /* pixels over which tiles' colour casts are evened (default 96; 0: off) */
  int seam_filter_radius; /* pixels smoothed each side of a seam when tiles do not overlap (default 4) */
  /* Resource limits: a file beyond one is refused (ODP_ERROR_BAD_INPUT, the message names the limit) before
   * any pixel or tile memory is allocated. 0 means the default, which is the format's own bound (spec 9.3;
   * codec::DecodeLimits in codec/odp.h): lower them to bound what an untrusted file can cost. Taken from
   * reserved (zero in older callers: the defaults), so the struct's size and alignment are unchanged. */
  uint32_t max_pixels;                 /* width x height of the image (default 2^28 = 268435456) */
  uint32_t max_input_bytes;            /* the file's size (default 100 MiB = 104857600, the largest file) */
  uint32_t max_metadata_bytes;         /* ICC + EXIF, stored and unpacked (default 64 MiB = 67108864) */
  uint32_t max_tiles;                  /* tiles of the grid (default 65536) */
  uint32_t max_tiles_per_payload_byte; /* tiles beyond the first 64 need a payload byte per this many
                                          tiles (default 8) */
  uint32_t reserved[11];
} odp_decode_options;
ODP_API void odp_decode_options_init(odp_decode_options* options);

/* Decodes a .odp file made with this model; *rgb receives width * height * 3 bytes (release with odp_free),
 * rows without padding. options may be NULL (defaults). A file made by another model is ODP_ERROR_MODEL.
 * Files beyond the limits of odp_decode_options (by default the format's: 2^28 pixels, 65536 tiles, more than
 * 64 + 8 tiles per payload byte, 64 MiB of metadata, 100 MiB in all) are ODP_ERROR_BAD_INPUT, refused before
 * any pixel memory is allocated. */
ODP_API odp_status odp_decode(odp_model* model, const uint8_t* data, size_t size,
                              const odp_decode_options* options, uint8_t** rgb, int* width, int* height);

/* ---- Truncating and inspecting (no network runs) ------------------------------------------------------ */

typedef struct odp_truncate_options {
  uint32_t struct_size; /* sizeof(odp_truncate_options), set by odp_truncate_options_init */
  int tokens;           /* > 0: keep at most this many tokens per tile (wins over the others) */
  double quality;       /* >= 0: keep the tokens of this quality (default -1: unused) */
  uint64_t max_bytes;   /* > 0: the longest prefix that fits */
  uint32_t reserved[16];
} odp_truncate_options;
ODP_API void odp_truncate_options_init(odp_truncate_options* options);

/* Cuts a .odp file to fewer tokens; *output receives the new file (release with odp_free). model may be NULL
 * unless the file is coded with the model's tables (odp_file_info.position_tables). */
ODP_API odp_status odp_truncate(const uint8_t* data, size_t size, const odp_truncate_options* options,
                                const odp_model* model, uint8_t** output, size_t* output_size);

typedef struct odp_file_info {
  uint32_t struct_size; /* sizeof(odp_file_info), set by the caller */
  uint32_t width, height, tile_size, tile_overlap, tiles_x, tiles_y;
  uint32_t model_id;
  int codebook_bits;
  int position_tables; /* 1: truncating needs the model */
  int payload_cut;     /* 1: the file was cut short; a prefix decodes */
  int min_tokens, max_tokens;
  double mean_tokens;
  uint64_t header_bytes, metadata_bytes, payload_bytes, file_bytes;
  /* model_id holds the low model_id_bits bits of the model's CRC-32: 32 in format version 1, 16 in version 2
   */
  uint32_t model_id_bits;
  uint32_t format_version;
  /* the size the tokens code (width x height unless the encoder coded a downscaled copy) */
  uint32_t coded_width, coded_height;
  uint32_t reserved[12];
} odp_file_info;
/* Reads a .odp file's header and sizes without the model and without entropy decoding. */
ODP_API odp_status odp_inspect(const uint8_t* data, size_t size, odp_file_info* info);

#ifdef __cplusplus
}
#endif

#endif /* ODP_ODP_H_ */

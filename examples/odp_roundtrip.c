/* Example of the C API: encode a synthetic 48x40 image with a model file and decode it. odp_roundtrip MODEL
 */
#include <odp/odp.h>
#include <stdio.h>

int main(int argc, char** argv) {
  enum { W = 48, H = 40 };
  static uint8_t rgb[W * H * 3];
  for (int i = 0; i < W * H * 3; ++i) rgb[i] = (uint8_t)(i % 3 == 0 ? i / 3 % W * 5 : i / (3 * W) * 6);
  odp_model_options model_options;
  odp_model_options_init(&model_options);
  model_options.device = ODP_DEVICE_CPU;
  odp_model* model = NULL;
  odp_status status = odp_model_load(argc > 1 ? argv[1] : "", &model_options, &model);
  odp_encode_options options;
  odp_encode_options_init(&options);
  options.rate = ODP_RATE_QUALITY;
  options.quality = 50;
  odp_image image = {W, H, 3 * W, rgb, NULL, 0, NULL, 0};
  uint8_t *file = NULL, *pixels = NULL;
  size_t size = 0;
  int width = 0, height = 0;
  if (status == ODP_OK) status = odp_encode(model, &image, &options, &file, &size);
  if (status == ODP_OK) status = odp_decode(model, file, size, NULL, &pixels, &width, &height);
  if (status == ODP_OK)
    printf("odp %s: %dx%d -> %zu bytes -> %dx%d\n", odp_version(), W, H, size, width, height);
  else
    fprintf(stderr, "odp_roundtrip: %s: %s\n", odp_status_name(status), odp_error_message());
  odp_free(file);
  odp_free(pixels);
  odp_model_free(model);
  return status == ODP_OK && width == W && height == H ? 0 : 1;
}

// GIF through giflib: the first frame on its logical screen (transparency as alpha); the frames after it are
// skipped undecoded, with a warning. Left out when built without giflib.
#include "imageio/image_formats.h"

#ifdef ODP_HAVE_GIF
#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#endif

namespace odp::imageio::detail {

#ifdef ODP_HAVE_GIF
namespace {

struct GifSource {
  const uint8_t* data = nullptr;
  size_t size = 0, offset = 0;
};

int read_bytes(GifFileType* gif, GifByteType* out, int length) {
  auto* source = static_cast<GifSource*>(gif->UserData);
  const size_t count =
      std::min<size_t>(static_cast<size_t>(std::max(length, 0)), source->size - source->offset);
  std::memcpy(out, source->data + source->offset, count);
  source->offset += count;
  return static_cast<int>(count);
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int error = 0;
    DGifCloseFile(gif, &error);
  }
};

}  // namespace

Image decode_gif(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options) {
  GifSource source{data, size, 0};
  int error = 0;
  std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&source, read_bytes, &error));
  auto failure = [&](int code) {
    const char* text = GifErrorString(code);
    return Error(name + ": corrupt or unsupported GIF (" + (text ? text : "unknown error") + ")");
  };
  if (!gif) throw failure(error);
  const int screen_width = gif->SWidth, screen_height = gif->SHeight;
  int transparent = -1;  // the colour index the last graphic control extension made transparent
  Image image;
  std::vector<uint8_t> canvas;  // RGBA over the logical screen
  bool any_transparent = false;
  int frames = 0;
  for (;;) {
    GifRecordType record = UNDEFINED_RECORD_TYPE;
    if (DGifGetRecordType(gif.get(), &record) == GIF_ERROR) throw failure(gif->Error);
    if (record == TERMINATE_RECORD_TYPE) break;
    if (record == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(gif.get(), &code, &block) == GIF_ERROR) throw failure(gif->Error);
      if (code == GRAPHICS_EXT_FUNC_CODE && block && block[0] >= 4 && frames == 0) {
        GraphicsControlBlock control;
        DGifExtensionToGCB(block[0], block + 1, &control);
        transparent = control.TransparentColor;
      }
      while (block)
        if (DGifGetExtensionNext(gif.get(), &block) == GIF_ERROR) throw failure(gif->Error);
      continue;
    }
    if (record != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) throw failure(gif->Error);
    ++frames;
    if (frames > 1) {  // later frames: count them, skip their data undecoded
      int code_size = 0;
      GifByteType* block = nullptr;
      if (DGifGetCode(gif.get(), &code_size, &block) == GIF_ERROR) throw failure(gif->Error);
      while (block)
        if (DGifGetCodeNext(gif.get(), &block) == GIF_ERROR) throw failure(gif->Error);
      continue;
    }
    const GifImageDesc& frame = gif->Image;
    const int width = screen_width > 0 ? screen_width : frame.Width;
    const int height = screen_height > 0 ? screen_height : frame.Height;
    check_dimensions(static_cast<uint64_t>(width), static_cast<uint64_t>(height), options, name);
    check_dimensions(static_cast<uint64_t>(std::max(frame.Width, 1)),
                     static_cast<uint64_t>(std::max(frame.Height, 1)), options, name);
    const ColorMapObject* colours = frame.ColorMap ? frame.ColorMap : gif->SColorMap;
    if (!colours) throw Error(name + ": corrupt GIF (the first frame has no colour table)");
    image.width = width;
    image.height = height;
    // Pixels the first frame leaves uncovered are transparent (as browsers show them).
    canvas.assign(static_cast<size_t>(width) * height * 4, 0);
    any_transparent = frame.Left > 0 || frame.Top > 0 || frame.Left + frame.Width < width ||
                      frame.Top + frame.Height < height;
    std::vector<GifPixelType> line(static_cast<size_t>(std::max(frame.Width, 0)));
    std::vector<int> rows(static_cast<size_t>(std::max(frame.Height, 0)));
    if (frame.Interlace) {  // the four passes of GIF interlacing: rows 0, 4, 8.. then 2, 6.. then 1, 3..
      static const int kFirst[4] = {0, 4, 2, 1}, kStep[4] = {8, 8, 4, 2};
      size_t next = 0;
      for (int pass = 0; pass < 4; ++pass)
        for (int y = kFirst[pass]; y < frame.Height; y += kStep[pass]) rows[next++] = y;
    } else {
      for (int y = 0; y < frame.Height; ++y) rows[y] = y;
    }
    for (int r = 0; r < frame.Height; ++r) {
      if (DGifGetLine(gif.get(), line.data(), frame.Width) == GIF_ERROR) throw failure(gif->Error);
      const int y = frame.Top + rows[r];
      if (y < 0 || y >= height) continue;
      for (int i = 0; i < frame.Width; ++i) {
        const int x = frame.Left + i;
        if (x < 0 || x >= width) continue;
        uint8_t* out = &canvas[(static_cast<size_t>(y) * width + x) * 4];
        const int index = line[i];
        if (index == transparent || index >= colours->ColorCount) {
          any_transparent = true;
          continue;  // stays transparent (an index beyond the table too, as giflib's own reader does)
        }
        out[0] = colours->Colors[index].Red;
        out[1] = colours->Colors[index].Green;
        out[2] = colours->Colors[index].Blue;
        out[3] = 255;
      }
    }
  }
  if (frames == 0) throw Error(name + ": corrupt GIF (it holds no image)");
  if (frames > 1)
    image.warnings.push_back("animated GIF (" + std::to_string(frames) +
                             " frames): encoded the first frame only");
  if (any_transparent) {
    store_samples(image, canvas.data(), 4, options, name);
  } else {
    std::vector<uint8_t> rgb(canvas.size() / 4 * 3);
    for (size_t i = 0; i < canvas.size() / 4; ++i) std::memcpy(&rgb[3 * i], &canvas[4 * i], 3);
    store_samples(image, rgb.data(), 3, options, name);
  }
  return image;
}
#else
Image decode_gif(const uint8_t*, size_t, const std::string& name, const ReadOptions&) {
  throw Error(name + ": this odp was built without giflib, so it cannot read GIF");
}
#endif

}  // namespace odp::imageio::detail

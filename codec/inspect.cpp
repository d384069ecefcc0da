// inspect(): a .odp file's summary without the model, in its own file so that odpinfo links no model code.
#include "codec/odp.h"
#include "format/odp_format.h"

namespace odp::codec {

FileInfo inspect(const uint8_t* data, size_t size) {
  format::Summary summary;
  try {
    summary = format::summarize(data, size);
  } catch (const format::FormatError& error) {
    throw CodecError(std::string("not a valid .odp file: ") + error.what(), ErrorKind::kBadInput);
  }
  FileInfo info;
  const format::Header& header = summary.header;
  info.width = header.width;
  info.height = header.height;
  info.tile_size = header.tile_size;
  info.tile_overlap = header.tile_overlap;
  info.coded_width = header.grid_width();
  info.coded_height = header.grid_height();
  info.tiles_x = header.tiles_x();
  info.tiles_y = header.tiles_y();
  info.model_id = header.model_id;
  info.model_id_bits = header.model_id_bits;
  info.format_version = header.version;
  info.codebook_bits = header.codebook_bits;
  info.position_tables = header.entropy_model == format::EntropyModel::kPositionTables;
  info.tokens_per_tile = summary.tokens_per_tile;
  info.header_bytes = summary.header_bytes;
  info.metadata_bytes = summary.metadata_bytes;
  info.payload_bytes = summary.payload_bytes;
  info.file_bytes = summary.file_bytes;
  info.payload_cut = summary.payload_cut;
  info.grey = header.grey;
  info.flat_tiles = static_cast<uint32_t>(header.flat_tiles.size());
  for (const format::MetadataChunk& chunk : summary.metadata) {
    info.metadata_tags.push_back(chunk.tag);
    info.metadata_sizes.push_back(chunk.bytes.size());
  }
  return info;
}

}  // namespace odp::codec

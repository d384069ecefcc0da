// odptrunc: cut .odp files down to fewer tokens or bytes without running the model (milliseconds).
#include <iostream>
#include <memory>

#include "cli/cli_common.h"

namespace {

const char* const kUsage = R"(usage: odptrunc FILE.odp... -o OUT (--tokens N | --quality Q | --size BYTES)
Keeps a prefix of each tile's tokens; never runs the model, so it takes milliseconds. -o may name the
input itself (it is replaced atomically), but not another input, and two inputs may not share an output;
with several inputs -o names an existing directory.
  --tokens N     keep at most N tokens per tile (1..256)
  -q, --quality Q
                 keep at most round(256^(Q/100)) tokens per tile (0..100, as odpenc)
  -size, --size BYTES
                 the largest token-major prefix whose file fits BYTES (e.g. 1500, 20k); fails naming the
                 smallest possible size
  --model FILE   only for files entropy coded with the model's tables (odpinfo says): the tables are read
                 from the model file, the network is never run
  -v             print each result's size
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace odp;
  return cli::run_tool(
      argc, argv, kUsage, {"-o", "--tokens", "--quality", "--size", "--model"}, {"-v"},
      [](const cli::Arguments& arguments) {
        if (arguments.count_of({"--tokens", "--quality", "--size"}) != 1)
          throw cli::UsageError("give exactly one of --tokens, --quality and --size");
        codec::TruncateOptions options;
        if (arguments.has("--tokens")) options.tokens = arguments.integer("--tokens", 1, 256);
        if (arguments.has("--quality")) options.quality = arguments.number("--quality", 0, 100);
        if (arguments.has("--size")) options.max_bytes = arguments.byte_count("--size");
        const std::vector<std::string> outputs = cli::output_paths(arguments, ".odp", true, true);
        std::unique_ptr<model::ModelInfo> tables;  // read once, only if a file needs the model's tables
        int result = cli::kOk;
        for (size_t i = 0; i < outputs.size(); ++i) {
          const std::string& input = arguments.inputs()[i];
          int code = cli::for_input(arguments, input, [&] {
            const std::vector<uint8_t> bytes = codec::read_odp_file(input);
            if (codec::inspect(bytes.data(), bytes.size()).position_tables && !tables)
              tables =
                  std::make_unique<model::ModelInfo>(codec::load_model_info(cli::locate_model(arguments)));
            const std::vector<uint8_t> cut =
                codec::truncate(bytes.data(), bytes.size(), options, tables.get());
            base::write_file_atomic(outputs[i], cut);
            if (arguments.has("-v"))
              std::cerr << "odptrunc: " << input << " -> " << outputs[i] << ": " << bytes.size() << " -> "
                        << cut.size() << " bytes\n";
          });
          if (result == cli::kOk) result = code;
        }
        return result;
      });
}

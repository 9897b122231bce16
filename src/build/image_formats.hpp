#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "build/process_runner.hpp"
#include "core/error.hpp"

namespace imagefactory {

// The disk formats the image targets deliver.
enum class ImageFormat {
    Qcow2,       // zlib-compressed qcow2 (OpenStack, RHEV-M, libvirt)
    Raw,         // sparse raw disk (EC2 import, Condor Cloud)
    Ova,         // OVF 1.0 descriptor, SHA-256 manifest and streamOptimized VMDK in a ustar tar
    VhdFixed,    // fixed VHD, size a whole number of MiB (Azure)
    Vhdx,        // dynamic VHDX (Hyper-V)
    GceTarball,  // disk.raw alone in a gzip-compressed GNU tar (Google Compute Engine)
};

// The file name a target image body gets for format, e.g. "disk.qcow2".
std::string imageFileName(ImageFormat format);

// QEMU's driver name for a disk format (raw, qcow2, vpc, vhdx); empty for archives.
std::string qemuFormatName(ImageFormat format);

// Receives the fraction (0 to 1) of a conversion done so far.
using ConversionProgress = std::function<void(double fraction)>;

// Converts a raw disk into format at output. Every tool runs through runner, and in-process
// archive writing stops with an Aborted error when the runner's token is cancelled.
Status convertImage(const ProcessRunner& runner, const std::filesystem::path& raw,
                    ImageFormat format, const std::filesystem::path& output,
                    const std::string& image_name, const ConversionProgress& progress = {});

// Checks output against the rules of format; a failure is a ToolFailure naming the broken rule.
// raw_bytes is the virtual size of the source disk.
Status verifyImage(const ProcessRunner& runner, const std::filesystem::path& output,
                   ImageFormat format, uint64_t raw_bytes);

// A parsed VHD footer (the last 512 bytes of a VHD file; all fields big-endian).
struct VhdFooter {
    std::string cookie;  // "conectix"
    uint32_t features = 0;
    uint32_t version = 0;      // 0x00010000
    uint64_t data_offset = 0;  // all ones for a fixed disk
    uint64_t original_size = 0;
    uint64_t current_size = 0;
    uint32_t disk_type = 0;  // 2 fixed, 3 dynamic, 4 differencing
    uint32_t checksum = 0;
    uint32_t computed_checksum = 0;  // one's complement of the byte sum, checksum field as zero
};

inline constexpr uint32_t kVhdFixed = 2;

Result<VhdFooter> parseVhdFooter(const std::array<uint8_t, 512>& bytes);

// Checks a fixed VHD file: footer cookie, checksum, fixed type, and a current size that is a
// whole number of MiB and equals the file size less the footer.
Status checkFixedVhd(const std::filesystem::path& file);

// The OVF 1.0 descriptor of a one-disk Debian VM whose disk is a streamOptimized VMDK.
struct OvfDisk {
    std::string vm_name;
    std::string file_name;        // the VMDK's name inside the OVA
    uint64_t file_bytes = 0;      // its size
    uint64_t capacity_bytes = 0;  // the virtual disk size
};
std::string ovfDescriptor(const OvfDisk& disk);

// A manifest line per file: "SHA256(name)= hex".
std::string ovaManifest(const std::vector<std::pair<std::string, std::string>>& name_digests);

// Writes members (name, path) in order into a ustar tar at output. runner, when given, is
// asked between blocks whether the job was cancelled.
Status writeUstarTar(const std::filesystem::path& output,
                     const std::vector<std::pair<std::string, std::filesystem::path>>& members,
                     const ProcessRunner* runner = nullptr,
                     const ConversionProgress& progress = {});

// Writes raw into a gzip-compressed GNU tar at output as its only member, "disk.raw".
Status writeGceTarball(const std::filesystem::path& output, const std::filesystem::path& raw,
                       const ProcessRunner* runner = nullptr,
                       const ConversionProgress& progress = {});

// A member of a tar as read back: name, size and SHA-256.
struct TarMember {
    std::string name;
    uint64_t size = 0;
    std::string sha256;
    std::string head;  // the first 512 bytes (fewer for a shorter member)
};

// Reads every member of a (possibly compressed) tar. format_name returns libarchive's name
// for the archive format, filter_name that of the outermost compression filter.
Result<std::vector<TarMember>> readTar(const std::filesystem::path& file, std::string* format_name,
                                       std::string* filter_name);

Status checkOva(const std::filesystem::path& file);
Status checkGceTarball(const std::filesystem::path& file, uint64_t raw_bytes);

}  // namespace imagefactory

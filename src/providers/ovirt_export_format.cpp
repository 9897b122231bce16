#include "providers/ovirt_export_format.hpp"

#include <libxml/tree.h>

#include <memory>

#include "core/template_xml.hpp"

namespace imagefactory {

namespace {

constexpr const char* kOvfNamespace = "http://schemas.dmtf.org/ovf/envelope/1/";
constexpr const char* kRasdNamespace =
    "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData";
constexpr const char* kVssdNamespace =
    "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData";
constexpr const char* kXsiNamespace = "http://www.w3.org/2001/XMLSchema-instance";
constexpr uint64_t kGib = 1024ULL * 1024 * 1024;

const xmlChar* xmlName(const char* text) {
    return reinterpret_cast<const xmlChar*>(text);
}

// Volume formats as vdsm spells them in .meta (upper case) and the OVF (volume-format).
Result<std::string> vdsmFormat(const std::string& qemu_format) {
    if (qemu_format == "qcow2") {
        return std::string("COW");
    }
    if (qemu_format == "raw") {
        return std::string("RAW");
    }
    return userError("unsupported disk format " + qemu_format +
                     ": oVirt export domains accept qcow2 or raw");
}

Status checkSectorMultiple(uint64_t virtual_size) {
    if (virtual_size == 0 || virtual_size % 512 != 0) {
        return userError("disk virtual size " + std::to_string(virtual_size) +
                         " bytes is not a positive multiple of 512");
    }
    return okStatus();
}

// OVF dates are UTC, written "YYYY/MM/DD hh:mm:ss".
std::string ovfDate(std::time_t time) {
    std::tm utc{};
    gmtime_r(&time, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y/%m/%d %H:%M:%S", &utc);
    return text;
}

// Builds the envelope with the namespaces the engine's OVF reader looks up by prefix.
class OvfWriter {
  public:
    OvfWriter() : doc_(xmlNewDoc(xmlName("1.0"))) {
        root_ = xmlNewNode(nullptr, xmlName("Envelope"));
        xmlDocSetRootElement(doc_.get(), root_);
        ovf_ = xmlNewNs(root_, xmlName(kOvfNamespace), xmlName("ovf"));
        rasd_ = xmlNewNs(root_, xmlName(kRasdNamespace), xmlName("rasd"));
        xmlNewNs(root_, xmlName(kVssdNamespace), xmlName("vssd"));
        xmlNewNs(root_, xmlName(kXsiNamespace), xmlName("xsi"));
        xmlSetNs(root_, ovf_);
        ovfAttribute(root_, "version", "0.9");
    }

    xmlNode* root() { return root_; }

    // A child without namespace, as oVirt writes all but the root. (xmlNewChild would give it
    // the parent's namespace.) Text is stored literally and escaped on output.
    xmlNode* element(xmlNode* parent, const char* name, const std::string& text = {}) {
        xmlNode* node =
            xmlAddChild(parent, xmlNewDocNode(doc_.get(), nullptr, xmlName(name), nullptr));
        if (!text.empty()) {
            xmlNodeAddContent(node, xmlName(text.c_str()));
        }
        return node;
    }

    xmlNode* rasd(xmlNode* parent, const char* name, const std::string& text = {}) {
        xmlNode* node = xmlNewChild(parent, rasd_, xmlName(name), nullptr);
        if (!text.empty()) {
            xmlNodeAddContent(node, xmlName(text.c_str()));
        }
        return node;
    }

    void ovfAttribute(xmlNode* node, const char* name, const std::string& value) {
        xmlNewNsProp(node, ovf_, xmlName(name), xmlName(value.c_str()));
    }

    // xsi:type is written as a plain prefixed attribute: its value names an OVF type.
    xmlNode* section(xmlNode* parent, const char* type, const char* info) {
        xmlNode* node = element(parent, "Section");
        xmlNewProp(node, xmlName("xsi:type"), xmlName(type));
        element(node, "Info", info);
        return node;
    }

    std::string text() {
        xmlChar* buffer = nullptr;
        int size = 0;
        xmlDocDumpFormatMemoryEnc(doc_.get(), &buffer, &size, "UTF-8", 1);
        std::string result(reinterpret_cast<const char*>(buffer), static_cast<size_t>(size));
        xmlFree(buffer);
        return result;
    }

  private:
    XmlDocPtr doc_;
    xmlNode* root_ = nullptr;
    xmlNs* ovf_ = nullptr;
    xmlNs* rasd_ = nullptr;
};

}  // namespace

uint64_t bytesToGibRoundedUp(uint64_t bytes) {
    return (bytes + kGib - 1) / kGib;
}

Result<std::string> ovirtVolumeMetadata(const OvirtExportDisk& disk, const std::string& description,
                                        std::time_t created) {
    Result<std::string> format = vdsmFormat(disk.format);
    if (!format) {
        return format.error();
    }
    if (Status s = checkSectorMultiple(disk.virtual_size); !s) {
        return s.error();
    }

    // vdsm reads KEY=VALUE lines up to the EOF line. SIZE counts 512-byte sectors whatever the
    // storage's block size; POOL_UUID stays empty because export domains belong to no pool.
    // DISKTYPE 2 is what older export-domain writers put there.
    // NOTE: neither DISKTYPE=2 nor the rest of this layout has been imported into a running
    // oVirt engine from here; newer vdsm versions write DISKTYPE=DATA.
    std::string meta;
    meta += "DOMAIN=" + disk.storage_domain_id + "\n";
    meta += "VOLTYPE=LEAF\n";
    meta += "CTIME=" + std::to_string(created) + "\n";
    meta += "MTIME=" + std::to_string(created) + "\n";
    meta += "IMAGE=" + disk.image_group_id + "\n";
    meta += "DISKTYPE=2\n";
    meta += "PUUID=" + std::string(kNullUuid) + "\n";
    meta += "LEGALITY=LEGAL\n";
    meta += "POOL_UUID=\n";
    meta += "SIZE=" + std::to_string(disk.virtual_size / 512) + "\n";
    meta += "FORMAT=" + *format + "\n";
    meta += "TYPE=SPARSE\n";
    // A newline would end the value early and start a forged key.
    std::string one_line = description;
    for (char& c : one_line) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    meta += "DESCRIPTION=" + one_line + "\n";
    meta += "EOF\n";
    return meta;
}

Result<std::string> ovirtVmOvf(const OvirtExportVm& vm, const OvirtExportDisk& disk) {
    Result<std::string> format = vdsmFormat(disk.format);
    if (!format) {
        return format.error();
    }
    if (Status s = checkSectorMultiple(disk.virtual_size); !s) {
        return s.error();
    }
    const std::string file_ref = disk.image_group_id + "/" + disk.volume_id;
    const std::string date = ovfDate(vm.created);
    OvfWriter ovf;
    xmlNode* root = ovf.root();

    xmlNode* references = ovf.element(root, "References");
    xmlNode* file = ovf.element(references, "File");
    ovf.ovfAttribute(file, "href", file_ref);
    ovf.ovfAttribute(file, "id", disk.volume_id);
    ovf.ovfAttribute(file, "size", std::to_string(disk.virtual_size));
    ovf.ovfAttribute(file, "description", vm.description);

    ovf.section(root, "ovf:NetworkSection_Type", "List of networks");

    // DiskSection sizes are whole GiB because the engine's parser rejects fractions (as noted
    // in virt-v2v's OVF writer).
    xmlNode* disks = ovf.section(root, "ovf:DiskSection_Type", "List of Virtual Disks");
    xmlNode* ovf_disk = ovf.element(disks, "Disk");
    ovf.ovfAttribute(ovf_disk, "diskId", disk.volume_id);
    ovf.ovfAttribute(ovf_disk, "size", std::to_string(bytesToGibRoundedUp(disk.virtual_size)));
    ovf.ovfAttribute(ovf_disk, "actual_size",
                     std::to_string(bytesToGibRoundedUp(disk.actual_size)));
    ovf.ovfAttribute(ovf_disk, "fileRef", file_ref);
    ovf.ovfAttribute(ovf_disk, "parentRef", "");
    ovf.ovfAttribute(ovf_disk, "volume-format", *format);
    ovf.ovfAttribute(ovf_disk, "volume-type", "Sparse");
    ovf.ovfAttribute(ovf_disk, "format", "http://www.vmware.com/specifications/vmdk.html#sparse");
    ovf.ovfAttribute(ovf_disk, "disk-interface", "VirtIO");
    ovf.ovfAttribute(ovf_disk, "disk-type", "System");
    ovf.ovfAttribute(ovf_disk, "boot", "true");

    xmlNode* content = ovf.element(root, "Content");
    ovf.ovfAttribute(content, "id", "out");
    xmlNewProp(content, xmlName("xsi:type"), xmlName("ovf:VirtualSystem_Type"));
    ovf.element(content, "Name", vm.name);
    ovf.element(content, "TemplateId", kNullUuid);
    ovf.element(content, "TemplateName", "Blank");
    ovf.element(content, "Description", vm.description);
    ovf.element(content, "Domain");
    ovf.element(content, "CreationDate", date);
    // "Initilized" is the engine's own spelling of the element.
    ovf.element(content, "IsInitilized", "True");
    ovf.element(content, "IsAutoSuspend", "False");
    ovf.element(content, "TimeZone");
    ovf.element(content, "IsStateless", "False");
    ovf.element(content, "Origin", "0");
    ovf.element(content, "VmType", "1");
    ovf.element(content, "DefaultDisplayType", "1");

    xmlNode* os = ovf.section(content, "ovf:OperatingSystemSection_Type", "Guest Operating System");
    ovf.ovfAttribute(os, "id", vm.vm_id);
    ovf.ovfAttribute(os, "required", "false");
    ovf.element(os, "Description", "OtherLinux");

    const std::string cpus = std::to_string(vm.cpus);
    const std::string memory = std::to_string(vm.memory_mib);
    xmlNode* hardware = ovf.section(content, "ovf:VirtualHardwareSection_Type",
                                    (cpus + " CPU, " + memory + " Memory").c_str());
    xmlNode* cpu = ovf.element(hardware, "Item");
    ovf.rasd(cpu, "Caption", cpus + " virtual cpu");
    ovf.rasd(cpu, "Description", "Number of virtual CPU");
    ovf.rasd(cpu, "InstanceId", "1");
    ovf.rasd(cpu, "ResourceType", "3");
    ovf.rasd(cpu, "num_of_sockets", cpus);
    ovf.rasd(cpu, "cpu_per_socket", "1");

    xmlNode* ram = ovf.element(hardware, "Item");
    ovf.rasd(ram, "Caption", memory + " MB of memory");
    ovf.rasd(ram, "Description", "Memory Size");
    ovf.rasd(ram, "InstanceId", "2");
    ovf.rasd(ram, "ResourceType", "4");
    ovf.rasd(ram, "AllocationUnits", "MegaBytes");
    ovf.rasd(ram, "VirtualQuantity", memory);

    // The engine takes an Item as a disk only when its caption starts with "Drive " (as noted
    // in virt-v2v's OVF writer).
    xmlNode* drive = ovf.element(hardware, "Item");
    ovf.rasd(drive, "Caption", "Drive 1");
    ovf.rasd(drive, "InstanceId", disk.volume_id);
    ovf.rasd(drive, "ResourceType", "17");
    ovf.element(drive, "Type", "disk");
    ovf.rasd(drive, "HostResource", file_ref);
    ovf.rasd(drive, "Parent", kNullUuid);
    ovf.rasd(drive, "Template", kNullUuid);
    ovf.rasd(drive, "ApplicationList");
    ovf.rasd(drive, "StorageId", disk.storage_domain_id);
    ovf.rasd(drive, "StoragePoolId", kNullUuid);
    ovf.rasd(drive, "CreationDate", date);
    ovf.rasd(drive, "LastModified", date);
    return ovf.text();
}

}  // namespace imagefactory

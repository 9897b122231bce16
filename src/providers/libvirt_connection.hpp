#pragma once

#include <libvirt/libvirt.h>

#include <memory>
#include <string>

#include "core/credentials.hpp"
#include "core/error.hpp"

namespace imagefactory {

// Owning handles for libvirt objects; each frees its object (not the remote one) on scope exit.
struct LibvirtConnectClose {
    void operator()(virConnectPtr conn) const { virConnectClose(conn); }
};
struct LibvirtPoolFree {
    void operator()(virStoragePoolPtr pool) const { virStoragePoolFree(pool); }
};
struct LibvirtVolumeFree {
    void operator()(virStorageVolPtr volume) const { virStorageVolFree(volume); }
};
struct LibvirtStreamFree {
    void operator()(virStreamPtr stream) const { virStreamFree(stream); }
};
struct LibvirtDomainFree {
    void operator()(virDomainPtr domain) const { virDomainFree(domain); }
};
using LibvirtConnection = std::unique_ptr<virConnect, LibvirtConnectClose>;
using LibvirtPool = std::unique_ptr<virStoragePool, LibvirtPoolFree>;
using LibvirtVolume = std::unique_ptr<virStorageVol, LibvirtVolumeFree>;
using LibvirtStream = std::unique_ptr<virStream, LibvirtStreamFree>;
using LibvirtDomain = std::unique_ptr<virDomain, LibvirtDomainFree>;

// The username and password a libvirt connection hands to the daemon when the URI's transport
// asks for them (SASL, SSH). Both may be empty.
struct LibvirtLogin {
    std::string username;
    Secret password;
};

// Reads the <libvirt_credentials> element: optional username and password, nothing else.
// Errors name elements, never values.
Result<LibvirtLogin> libvirtLogin(const ProviderCredentials& credentials);

// Opens a read-write connection. Unavailable, with libvirt's message, when it fails. Calls
// virInitialize and silences libvirt's default error printing on first use, so any thread may
// call it.
Result<LibvirtConnection> openLibvirt(const std::string& uri, const LibvirtLogin& login);

// message with every occurrence of the password replaced by "***". Messages that quote a
// setting such as the URI go through this too, in case the password was pasted there.
std::string withoutPassword(std::string message, const LibvirtLogin& login);

// The calling thread's last libvirt error message (libvirt keeps it per thread), with the
// password cut out in case a transport ever echoes it.
std::string lastLibvirtError(const LibvirtLogin& login);

// The calling thread's last libvirt error number (virErrorNumber), or VIR_ERR_OK.
int lastLibvirtErrorCode();

}  // namespace imagefactory

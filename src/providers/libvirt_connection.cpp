#include "providers/libvirt_connection.hpp"

#include <libvirt/virterror.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/text.hpp"

namespace imagefactory {

namespace {

// libvirt prints every error to stderr unless a handler is set. The errors reach callers as
// Error values instead, so the handler drops them.
void ignoreLibvirtError(void*, virErrorPtr) {}

void initializeLibvirt() {
    static std::once_flag once;
    std::call_once(once, [] {
        virInitialize();
        virSetErrorFunc(nullptr, ignoreLibvirtError);
    });
}

// Fills libvirt's credential requests from the login. Returning -1 for a request it cannot
// fill makes the connection fail with libvirt's authentication error.
int fillCredentials(virConnectCredentialPtr credentials, unsigned int count, void* data) {
    const auto* login = static_cast<const LibvirtLogin*>(data);
    for (unsigned int i = 0; i < count; ++i) {
        const std::string* answer = nullptr;
        if (credentials[i].type == VIR_CRED_AUTHNAME && !login->username.empty()) {
            answer = &login->username;
        } else if (credentials[i].type == VIR_CRED_PASSPHRASE && !login->password.empty()) {
            answer = &login->password.reveal();
        }
        if (!answer) {
            return -1;
        }
        // libvirt frees result with free().
        credentials[i].result = strdup(answer->c_str());
        if (!credentials[i].result) {
            return -1;
        }
        credentials[i].resultlen = static_cast<unsigned int>(answer->size());
    }
    return 0;
}

}  // namespace

Result<LibvirtLogin> libvirtLogin(const ProviderCredentials& credentials) {
    LibvirtLogin login;
    if (credentials.empty()) {
        return login;
    }
    if (credentials.element != "libvirt_credentials") {
        return userError(
            "credentials for a libvirt provider must be in <libvirt_credentials>, "
            "not <" +
            credentials.element + ">");
    }
    for (const auto& [name, value] : credentials.fields) {
        if (name == "username") {
            login.username = value.reveal();
        } else if (name == "password") {
            login.password = value;
        } else {
            return userError("unknown element <" + name +
                             "> in <libvirt_credentials>; expected <username> and <password>");
        }
    }
    return login;
}

Result<LibvirtConnection> openLibvirt(const std::string& uri, const LibvirtLogin& login) {
    initializeLibvirt();
    int types[] = {VIR_CRED_AUTHNAME, VIR_CRED_PASSPHRASE};
    virConnectAuth auth{types, 2, fillCredentials, const_cast<LibvirtLogin*>(&login)};
    LibvirtConnection conn(virConnectOpenAuth(uri.c_str(), &auth, 0));
    if (!conn) {
        return Error{ErrorCode::Unavailable,
                     withoutPassword("cannot connect to libvirt at " + quoteValue(uri) + ": " +
                                         lastLibvirtError(login),
                                     login)};
    }
    return conn;
}

std::string withoutPassword(std::string message, const LibvirtLogin& login) {
    const std::string& password = login.password.reveal();
    if (password.empty()) {
        return message;
    }
    for (size_t at = message.find(password); at != std::string::npos;
         at = message.find(password, at)) {
        message.replace(at, password.size(), "***");
    }
    return message;
}

std::string lastLibvirtError(const LibvirtLogin& login) {
    const char* message = virGetLastErrorMessage();
    return withoutPassword(message ? message : "unknown libvirt error", login);
}

int lastLibvirtErrorCode() {
    virErrorPtr error = virGetLastError();
    return error ? error->code : VIR_ERR_OK;
}

}  // namespace imagefactory

// Logins, users, keys, certificates, endpoints and the mirroring transport handshake, merged
// into the one catalog by catalog.ts (spec/mirroring.md §3.1–3.8, §5).
import type { CatalogEntry } from "./catalog.js";

export const securityErrorCatalog = {
  PERMISSION_DENIED: {
    number: 262, symbol: "PERMISSION_DENIED", severity: 14, state: 1,
    text: "%s permission denied in database '%s'.",
  },
  DATABASE_ACCESS_DENIED: {
    number: 916, symbol: "DB_ACCESS_DENIED", severity: 14, state: 2,
    text: "The server principal \"%s\" is not able to access the database \"%s\" under the current security context.",
  },
  NO_PERMISSION: {
    number: 15247, symbol: "NO_PERMISSION", severity: 16, state: 1,
    text: "User does not have permission to perform this action.",
  },
  SERVER_PRINCIPAL_EXISTS: {
    number: 15025, symbol: "LOGIN_EXISTS", severity: 16, state: 2,
    text: "The server principal '%s' already exists.",
  },
  LOGIN_MISSING: {
    number: 15151, symbol: "LOGIN_MISSING", severity: 16, state: 1,
    text: "Cannot %s the login '%s', because it does not exist or you do not have permission.",
  },
  LOGIN_DROP_CURRENT: {
    number: 15434, symbol: "LOGIN_DROP_CURRENT", severity: 16, state: 1,
    text: "Could not drop login '%s' as the user is currently logged in.",
  },
  PASSWORD_POLICY: {
    number: 15118, symbol: "PASSWORD_POLICY", severity: 16, state: 1,
    text: "Password validation failed. The password does not meet the operating system policy requirements because it is not complex enough.",
  },
  PASSWORD_HASH_INVALID: {
    number: 15021, symbol: "PASSWORD_HASH_INVALID", severity: 16, state: 2,
    text: "Invalid value given for parameter PASSWORD. Specify a valid parameter value.",
  },
  SID_EXISTS: {
    number: 15433, symbol: "SID_IN_USE", severity: 16, state: 1,
    text: "Supplied parameter sid is in use.",
  },
  SID_INVALID: {
    number: 15419, symbol: "SID_INVALID", severity: 16, state: 1,
    text: "Supplied parameter sid should be binary(16).",
  },
  USER_EXISTS: {
    number: 15023, symbol: "USER_EXISTS", severity: 16, state: 1,
    text: "User, group, or role '%s' already exists in the current database.",
  },
  USER_MISSING: {
    number: 15151, symbol: "USER_MISSING", severity: 16, state: 1,
    text: "Cannot %s the user '%s', because it does not exist or you do not have permission.",
  },
  LOGIN_NOT_VALID: {
    number: 15007, symbol: "LOGIN_NOT_VALID", severity: 16, state: 1,
    text: "'%s' is not a valid login or you do not have permission.",
  },
  CERTIFICATE_WRITE_FAILED: {
    number: 15240, symbol: "CERTIFICATE_WRITE", severity: 16, state: 1,
    text: "Cannot write into file '%s'. Verify that you have write permissions, that the file path is valid, and that the file does not already exist.",
  },
  LOGIN_ALREADY_MAPPED: {
    number: 15063, symbol: "LOGIN_ALREADY_MAPPED", severity: 16, state: 1,
    text: "The login already has an account under a different user name.",
  },
  USER_OWNS_OBJECTS: {
    number: 15284, symbol: "USER_OWNS_OBJECTS", severity: 16, state: 1,
    text: "The database principal has granted or denied permissions to objects in the database and cannot be dropped.",
  },
  USER_OWNS_CERTIFICATE: {
    number: 15138, symbol: "USER_OWNS_SECURABLE", severity: 16, state: 1,
    text: "The database principal owns a certificate in the database, and cannot be dropped.",
  },
  MASTER_KEY_EXISTS: {
    number: 15578, symbol: "MASTER_KEY_EXISTS", severity: 16, state: 1,
    text: "There is already a master key in the database. Please drop it before performing this statement.",
  },
  MASTER_KEY_MISSING: {
    number: 15581, symbol: "MASTER_KEY_MISSING", severity: 16, state: 7,
    text: "Please create a master key in the database or open the master key in the session before performing this operation.",
  },
  MASTER_KEY_IN_USE: {
    number: 15580, symbol: "MASTER_KEY_IN_USE", severity: 16, state: 1,
    text: "Cannot drop master key because certificate '%s' is encrypted by it.",
  },
  CERTIFICATE_EXISTS: {
    number: 15232, symbol: "CERTIFICATE_EXISTS", severity: 16, state: 1,
    text: "A certificate with name '%s' already exists or this certificate already has been added to the database.",
  },
  CERTIFICATE_MISSING: {
    number: 15151, symbol: "CERTIFICATE_MISSING", severity: 16, state: 1,
    text: "Cannot find the certificate '%s', because it does not exist or you do not have permission.",
  },
  CERTIFICATE_FILE_INVALID: {
    number: 15468, symbol: "CERTIFICATE_FILE_INVALID", severity: 16, state: 1,
    text: "An error occurred during the generation of the certificate: the file '%s' is not a DER or PEM X.509 certificate with an RSA key.",
  },
  CERTIFICATE_FILE_OPEN: {
    number: 15208, symbol: "CERTIFICATE_FILE_OPEN", severity: 16, state: 1,
    text: "The certificate, asymmetric key, or private key file is not valid or does not exist; or you do not have permissions for it: '%s'.",
  },
  CERTIFICATE_NO_PRIVATE_KEY: {
    number: 15232, symbol: "CERTIFICATE_NO_PRIVATE_KEY", severity: 16, state: 2,
    text: "The certificate '%s' has no private key.",
  },
  CERTIFICATE_IN_USE: {
    number: 15352, symbol: "CERTIFICATE_IN_USE", severity: 16, state: 1,
    text: "The certificate '%s' cannot be dropped because it is used by the endpoint '%s' or the login '%s'.",
  },
  CERTIFICATE_DATE_INVALID: {
    number: 15297, symbol: "CERTIFICATE_DATE", severity: 16, state: 1,
    text: "The certificate, asymmetric key, or private key data is invalid: %s.",
  },
  PRIVATE_KEY_PASSWORD: {
    number: 15465, symbol: "PRIVATE_KEY_PASSWORD", severity: 16, state: 1,
    text: "The private key password is invalid.",
  },
  ENDPOINT_EXISTS: {
    number: 7862, symbol: "ENDPOINT_TYPE_EXISTS", severity: 16, state: 1,
    text: "An endpoint of the requested type already exists.  Only one endpoint of this type is supported.  Use ALTER ENDPOINT or DROP the existing endpoint and execute the CREATE ENDPOINT statement.",
  },
  ENDPOINT_NAME_EXISTS: {
    number: 7876, symbol: "ENDPOINT_NAME_EXISTS", severity: 16, state: 1,
    text: "The endpoint '%s' already exists.",
  },
  ENDPOINT_MISSING: {
    number: 15151, symbol: "ENDPOINT_MISSING", severity: 16, state: 1,
    text: "Cannot %s the endpoint '%s', because it does not exist or you do not have permission.",
  },
  ENDPOINT_NOTHING_CHANGED: {
    number: 7863, symbol: "ENDPOINT_NO_CHANGE", severity: 16, state: 1,
    text: "The statement is not supported for this endpoint because it does not change any property of it.",
  },
  ENDPOINT_TRANSPORT_CHANGE: {
    number: 7860, symbol: "ENDPOINT_TRANSPORT", severity: 16, state: 1,
    text: "Cannot change the transport or the payload type of an endpoint; drop it and create it again.",
  },
  ENDPOINT_PORT_IN_USE: {
    number: 7890, symbol: "ENDPOINT_PORT", severity: 16, state: 1,
    text: "An error occurred while attempting to register the endpoint '%s'. One or more of the ports specified in the CREATE ENDPOINT statement may be bound to another process. Attempt the statement again with a different port or use netstat to find the application currently using the port and resolve the conflict.",
  },
  ENDPOINT_PORT_RANGE: {
    number: 7873, symbol: "ENDPOINT_PORT_RANGE", severity: 16, state: 1,
    text: "The LISTENER_PORT %d is not valid: mirroring endpoints listen on ports 1024 to 32767.",
  },
  ENDPOINT_WINDOWS_AUTH: {
    number: 28054, symbol: "ENDPOINT_WINDOWS_AUTH", severity: 16, state: 1,
    text: "AUTHENTICATION = WINDOWS is not available: mirrorlite instances authenticate to each other with certificates. Use AUTHENTICATION = CERTIFICATE certificate_name, with a certificate in master that has a private key.",
  },
  ENDPOINT_RC4: {
    number: 28079, symbol: "ENDPOINT_RC4", severity: 16, state: 1,
    text: "The RC4 encryption algorithm is not supported; use ALGORITHM AES (or AES RC4 to accept peers that offer both).",
  },
  GRANT_TARGET_MISSING: {
    number: 15151, symbol: "GRANTEE_MISSING", severity: 16, state: 1,
    text: "Cannot find the login '%s', because it does not exist or you do not have permission.",
  },
  TRANSPORT_NO_CONNECT: {
    number: 28034, symbol: "DBM_NO_CONNECT", severity: 16, state: 1,
    text: "Connection handshake failed. The login '%s' does not have CONNECT permission on the endpoint. State %d.",
  },
  TRANSPORT_NO_ALGORITHM: {
    number: 28027, symbol: "DBM_NO_ALGORITHM", severity: 16, state: 1,
    text: "Connection handshake failed. There is no compatible %s. State %d.",
  },
  TRANSPORT_BAD_CERTIFICATE: {
    number: 28035, symbol: "DBM_BAD_CERT", severity: 16, state: 1,
    text: "Connection handshake failed. The certificate used by the peer is invalid due to the following reason: %s. State %d.",
  },
  TRANSPORT_OWN_CERTIFICATE: {
    number: 28036, symbol: "DBM_OWN_CERT", severity: 16, state: 1,
    text: "Connection handshake failed. The certificate used by this endpoint was not found: %s. Use DBCC CHECKDB in master database to verify the metadata integrity of the endpoints. State %d.",
  },
  TRANSPORT_CERTIFICATE_EXPIRED: {
    number: 28055, symbol: "DBM_CERT_EXPIRED", severity: 16, state: 1,
    text: "The certificate '%s' is not valid for endpoint authentication. The certificate must have a private key encrypted with the database master key and current UTC date has to be between the certificate start date and expiration date.",
  },
  TRANSPORT_HANDSHAKE_FAILED: {
    number: 28045, symbol: "DBM_HANDSHAKE", severity: 16, state: 1,
    text: "Connection handshake failed. %s State %d.",
  },
  PARTNER_UNREACHABLE: {
    number: 1418, symbol: "DBM_PARTNERNOTFOUND", severity: 16, state: 1,
    text: "The server network address \"%s\" can not be reached or does not exist. Check the network address name and that the ports for the local and remote endpoints are operational.",
  },
} as const satisfies Record<string, CatalogEntry>;

//! Opens the ledger and rate-limit state the config asks for (embedded, Redis or memory).

//! Analytics: the S3 archive layout, the Athena/Glue schema and named queries, the local
//! stand-in for Firehose and the replay tool.
//!
//! Nothing is here yet: the archive issue builds it. The crate exists so that the workspace
//! shows the architecture from the start.

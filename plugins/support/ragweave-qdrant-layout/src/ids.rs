//! Chunk ids to Qdrant point ids.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The point id of a chunk id, as a UUID string: what every ragweave Qdrant store (embedded
/// or server) names the chunk's point, so copies between them keep ids.
pub fn point_uuid(chunk_id: &str) -> String {
    point_id(chunk_id).to_string()
}

/// The point id of a chunk id: the id itself when it is a UUID (ragweave-ingest makes
/// those), otherwise a UUID from its SHA-256, so any string id maps to one stable point.
pub fn point_id(chunk_id: &str) -> Uuid {
    if let Ok(uuid) = Uuid::parse_str(chunk_id) {
        return uuid;
    }
    let digest = Sha256::digest(chunk_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_pass_through_and_other_ids_hash_stably() {
        let u = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert_eq!(point_id(u), Uuid::parse_str(u).unwrap());
        assert_eq!(point_id("a-1"), point_id("a-1"));
        assert_ne!(point_id("a-1"), point_id("a-2"));
    }
}

//! Database schema for stica, as append-only sea-orm migrations.
//!
//! Each migration names its tables and columns with its own `Iden` enums and never imports the
//! application's entities: a migration must keep producing the same schema after the entities move
//! on. Never edit a migration that has been released; add a new one.
pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261123_100001_revocation;
mod m20261123_100002_parent_serial;
mod m20261123_200001_authz_claim_constraints;
mod m20261123_300001_authz_parent_serial;
mod m20261123_300002_order_processing_since;
mod m20261123_500001_leases_ca_identity;

/// Runs the migrations in order (`Migrator::up`).
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261123_100001_revocation::Migration),
            Box::new(m20261123_100002_parent_serial::Migration),
            Box::new(m20261123_200001_authz_claim_constraints::Migration),
            Box::new(m20261123_300001_authz_parent_serial::Migration),
            Box::new(m20261123_300002_order_processing_since::Migration),
            Box::new(m20261123_500001_leases_ca_identity::Migration),
        ]
    }
}

//! Scheduled jobs: work that runs every so often (reconciling payments, expiring unpaid
//! orders; later reports, clean-ups), once across all instances.
//!
//! Each job has a row in `scheduled_jobs`. An instance runs a job only after moving its
//! `next_run_at` forward in one UPDATE that matches only while the job is due, so when
//! several instances look at once exactly one of them gets it. A job that fails is
//! logged and simply runs again at its next time; jobs must therefore be safe to run
//! again (each does its work under the rows' own locks and status checks).

use async_trait::async_trait;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

#[async_trait]
pub trait Job: Send + Sync {
    /// Stable name (its row in `scheduled_jobs`).
    fn name(&self) -> &'static str;
    /// Time between runs.
    fn every(&self) -> Duration;
    /// Does one round of work; the answer says what it did (for the log and the table).
    async fn run(&self) -> Result<String, String>;
}

/// Runs the jobs that are due; cheap to clone.
#[derive(Clone)]
pub struct Scheduler {
    pool: PgPool,
    jobs: Arc<Vec<Arc<dyn Job>>>,
}

impl Scheduler {
    pub fn new(pool: PgPool, jobs: Vec<Arc<dyn Job>>) -> Self {
        Self {
            pool,
            jobs: Arc::new(jobs),
        }
    }

    /// Claims `name` if it is due (or if `force`), moving its next run one interval on.
    async fn claim(&self, job: &dyn Job, force: bool) -> Result<bool, sqlx::Error> {
        sqlx::query!(
            "INSERT INTO scheduled_jobs (name) VALUES ($1) ON CONFLICT DO NOTHING",
            job.name()
        )
        .execute(&self.pool)
        .await?;
        let claimed = sqlx::query_scalar!(
            "UPDATE scheduled_jobs
             SET next_run_at = now() + make_interval(secs => $2), last_started_at = now(), runs = runs + 1
             WHERE name = $1 AND ($3 OR next_run_at <= now())
             RETURNING name",
            job.name(),
            job.every().as_secs_f64(),
            force
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(claimed.is_some())
    }

    async fn execute(&self, job: &dyn Job) -> Result<String, String> {
        let outcome = job.run().await;
        match &outcome {
            Ok(done) => tracing::info!(job = job.name(), %done, "scheduled job ran"),
            Err(e) => tracing::warn!(job = job.name(), error = %e, "scheduled job failed"),
        }
        let (done, error) = match &outcome {
            Ok(d) => (Some(d.as_str()), None),
            Err(e) => (None, Some(e.as_str())),
        };
        if let Err(e) = sqlx::query!(
            "UPDATE scheduled_jobs SET last_finished_at = now(), last_outcome = $2, last_error = $3
             WHERE name = $1",
            job.name(),
            done,
            error
        )
        .execute(&self.pool)
        .await
        {
            tracing::warn!(job = job.name(), error = %e, "could not record a job's outcome");
        }
        outcome
    }

    /// Runs every job that is due and that this instance claimed; returns their names.
    pub async fn run_due(&self) -> Result<Vec<&'static str>, sqlx::Error> {
        let mut ran = Vec::new();
        for job in self.jobs.iter() {
            if self.claim(job.as_ref(), false).await? {
                let _ = self.execute(job.as_ref()).await;
                ran.push(job.name());
            }
        }
        Ok(ran)
    }

    /// Runs one job now, due or not (an operator's command, a test); `None` if there is
    /// no job of that name.
    pub async fn run_now(&self, name: &str) -> Option<Result<String, String>> {
        let job = self.jobs.iter().find(|j| j.name() == name)?;
        match self.claim(job.as_ref(), true).await {
            Ok(_) => Some(self.execute(job.as_ref()).await),
            Err(e) => Some(Err(e.to_string())),
        }
    }

    /// Looks for due jobs every few seconds until the process ends.
    pub async fn run(self) {
        loop {
            if let Err(e) = self.run_due().await {
                tracing::error!(error = %e, "the scheduler could not read its jobs");
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }
}

use clap::Parser;
use fhir_facade::config::{Cli, Command, Settings};
use fhir_facade::startup::Application;
use fhir_facade::{seed, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Seed(args)) => {
            let opts = seed::SeedOptions {
                patients: args.patients,
                seed: args.seed,
            };
            seed::seed_database(&args.database_url, &opts)
                .await
                .map(|report| {
                    tracing::info!(
                        rows = report.total(),
                        seconds = report.elapsed.as_secs_f64(),
                        "sample database created"
                    )
                })
                .map_err(anyhow::Error::from)
        }
        Some(Command::Serve(args)) => serve(&args).await,
        None => serve(&cli.serve).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: &fhir_facade::config::ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::from_args(args).map_err(anyhow::Error::msg)?;
    let app = Application::build(settings).await?;
    tracing::info!(base_url = %app.base_url(), "serving FHIR");
    app.run_until_stopped().await?;
    Ok(())
}

use fhir_facade::config::{Command, ServeArgs, Settings, file};
use fhir_facade::seed;
use fhir_facade::startup::Application;
use fhir_facade::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let (cli, matches) = match file::parse(std::env::args_os().collect()) {
        Ok(parsed) => parsed,
        Err(file::ConfigFileError::Args(e)) => e.exit(),
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Some(Command::Seed(args)) => {
            telemetry::init(LogFormat::Text);
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
        Some(Command::Serve(args)) => serve(&args, &matches).await,
        None => serve(&cli.serve, &matches).await,
    };
    telemetry::finish();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: &ServeArgs, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    if args.print_config {
        print!("{}", file::dump(matches));
        return Ok(());
    }
    telemetry::init(args.log_format);
    let settings = Settings::from_args(args).map_err(anyhow::Error::msg)?;
    let app = Application::build(settings).await?;
    tracing::info!(base_url = %app.base_url(), "serving FHIR");
    app.run_until_stopped().await?;
    Ok(())
}

//! ETag / Last-Modified and conditional reads.

use crate::helpers::spawn_apps;

#[tokio::test]
async fn etag_and_last_modified_answer_304() {
    for app in spawn_apps().await {
        let url = format!("{}/Patient/1", app.base);
        let res = app.client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let etag = res.headers()["etag"].to_str().unwrap().to_string();
        let modified = res.headers()["last-modified"].to_str().unwrap().to_string();
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(
            etag,
            format!("W/\"{}\"", body["meta"]["versionId"].as_str().unwrap())
        );

        let res = app
            .client
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304);
        assert_eq!(res.headers()["etag"], etag.as_str());
        let res = app
            .client
            .get(&url)
            .header("if-none-match", "W/\"999\"")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = app
            .client
            .get(&url)
            .header("if-none-match", "*")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304);

        let res = app
            .client
            .get(&url)
            .header("if-modified-since", &modified)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304);
        let res = app
            .client
            .get(&url)
            .header("if-modified-since", "Mon, 01 Jan 1990 00:00:00 GMT")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        // If-None-Match wins over If-Modified-Since.
        let res = app
            .client
            .get(&url)
            .header("if-none-match", "W/\"999\"")
            .header("if-modified-since", &modified)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test]
async fn resources_without_a_version_have_no_etag() {
    for app in spawn_apps().await {
        let res = app
            .client
            .get(format!("{}/Encounter/1", app.base))
            .send()
            .await
            .unwrap();
        assert!(res.headers().get("etag").is_none());
        assert!(res.headers().get("last-modified").is_some());
        let res = app
            .client
            .get(format!("{}/Observation/vs-hr-1", app.base))
            .send()
            .await
            .unwrap();
        assert!(res.headers().get("etag").is_none());
        assert!(res.headers().get("last-modified").is_none());
    }
}

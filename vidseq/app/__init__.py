"""The web app (`vidseq app`): `streamlit_app` picks a saved run and explains an uploaded video."""

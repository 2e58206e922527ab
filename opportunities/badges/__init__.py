"""Recognition: Open Badges 3.0 credentials (W3C Verifiable Credentials 2.0), their signatures
(Data Integrity ``eddsa-rdfc-2022``), the issuer's keys, revocation (Bitstring Status List),
verification and baking into images; what is stored of them (badges, playlists, claim codes,
issuance records without personal data), claims and awards."""

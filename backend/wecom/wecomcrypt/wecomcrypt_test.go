package wecomcrypt_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/wecom/wecomcrypt"
)

// The official sample (../shared/testdata/wecom/README.md).
const (
	token  = "QDG6eK"
	corpID = "wx5823bf96d3bd56c7"
	aesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

func vector(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../../../shared/testdata/wecom/" + name)
	require.NoError(t, err, "the official vectors are in ../shared/testdata/wecom")
	return strings.TrimSpace(string(b))
}

func crypter(t *testing.T) *wecomcrypt.Crypter {
	t.Helper()
	c, err := wecomcrypt.New(token, aesKey)
	require.NoError(t, err)
	return c
}

func TestOfficialURLVerification(t *testing.T) {
	t.Parallel()
	echo, err := crypter(t).Decrypt("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780",
		"P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==", corpID)
	require.NoError(t, err)
	require.Equal(t, "1616140317555161061", string(echo))
}

func TestOfficialPost(t *testing.T) {
	t.Parallel()
	c := crypter(t)
	enc := vector(t, "post-encrypt.txt")
	msg, err := c.Decrypt("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", enc, corpID)
	require.NoError(t, err)
	require.Equal(t, vector(t, "post-plain.xml"), string(msg))
	require.Len(t, msg, 284)
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	c := crypter(t)
	enc := vector(t, "post-encrypt.txt")
	const sig, ts, nonce = "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149"

	_, err := c.Decrypt("577715d11cdb4164915debcba66cb864d751f3e6", ts, nonce, enc, corpID)
	require.ErrorIs(t, err, wecomcrypt.ErrSignature, "tampered signature")
	_, err = c.Decrypt(sig, "1409659814", nonce, enc, corpID)
	require.ErrorIs(t, err, wecomcrypt.ErrSignature, "the timestamp is signed")
	_, err = c.Decrypt(sig, ts, nonce, enc, "wx0000000000000000")
	require.ErrorIs(t, err, wecomcrypt.ErrReceiveID, "another corp's message")

	other, err := wecomcrypt.New("otherToken", aesKey)
	require.NoError(t, err)
	_, err = other.Decrypt(sig, ts, nonce, enc, corpID)
	require.ErrorIs(t, err, wecomcrypt.ErrSignature, "another token")

	// Truncated input (signed anew, so the decryption itself is what refuses it).
	raw, _ := base64.StdEncoding.DecodeString(enc)
	for _, cut := range [][]byte{raw[:len(raw)-1], raw[:len(raw)-32], raw[:0]} {
		e := base64.StdEncoding.EncodeToString(cut)
		_, err = c.Decrypt(c.Signature(ts, nonce, e), ts, nonce, e, corpID)
		require.ErrorIs(t, err, wecomcrypt.ErrDecrypt, len(cut))
	}
	_, err = c.Decrypt(c.Signature(ts, nonce, "%%%"), ts, nonce, "%%%", corpID)
	require.ErrorIs(t, err, wecomcrypt.ErrDecrypt, "not base64")

	// Bad padding: plaintexts encrypted by hand with wrong PKCS#7 bytes.
	key, _ := base64.StdEncoding.DecodeString(aesKey + "=")
	body := append(make([]byte, 16), 0, 0, 0, 2, 'h', 'i')
	body = append(body, corpID...)
	for name, pad := range map[string][]byte{
		"zero":           nil, // filled below with a 0 last byte
		"inconsistent":   nil,
		"longer than 32": nil,
	} {
		_ = pad
		n := 32 - len(body)%32
		p := bytes.Repeat([]byte{byte(n)}, n)
		switch name {
		case "zero":
			p[len(p)-1] = 0
		case "inconsistent":
			require.Greater(t, len(p), 1)
			p[0] = byte(n + 1)
		case "longer than 32":
			p[len(p)-1] = 33
		}
		pt := append(append([]byte{}, body...), p...)
		ct := make([]byte, len(pt))
		block, _ := aes.NewCipher(key)
		cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(ct, pt)
		e := base64.StdEncoding.EncodeToString(ct)
		_, err = c.Decrypt(c.Signature(ts, nonce, e), ts, nonce, e, corpID)
		require.ErrorIs(t, err, wecomcrypt.ErrDecrypt, name)
	}

	_, err = wecomcrypt.New(token, aesKey[:42])
	require.ErrorIs(t, err, wecomcrypt.ErrKey)
	_, err = wecomcrypt.New(token, "!"+aesKey[1:])
	require.ErrorIs(t, err, wecomcrypt.ErrKey)
}

func TestEncryptRoundTrip(t *testing.T) {
	t.Parallel()
	c := crypter(t)
	for _, n := range []int{0, 1, 11, 12, 43, 44, 284, 1000} {
		msg := bytes.Repeat([]byte{'x'}, n)
		enc, sig := c.Encrypt(msg, corpID, "1", "2")
		raw, err := base64.StdEncoding.DecodeString(enc)
		require.NoError(t, err)
		require.Zero(t, len(raw)%32)
		got, err := c.Decrypt(sig, "1", "2", enc, corpID)
		require.NoError(t, err)
		require.Equal(t, msg, got)
	}
}
